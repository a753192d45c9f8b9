"""Appending to the access log: durable before data leaves, one ordered chain, fail closed.

``app.state.audit`` is an ``AuditLog``. The record-pull path calls ``append`` (or
``aappend`` from async code) with an ``AuditRecord`` and gets an ``AppendedEntry`` once
the entry is committed, in a transaction of the log's own (never the request's). Any
failure raises ``AuditUnavailable`` (503): the caller must then send no data.

Several hub processes on one PostgreSQL append to one chain: every append transaction
locks the head row (``SELECT … FOR UPDATE``) and reads the chain head inside the lock.
Within a process, group commit (``exchange.audit.groupcommit``) lets one appender thread
write everything queued meanwhile in one transaction, each caller waiting for the commit
that holds its entry. This module writes the entries, checkpoints and signed head.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from exchange.audit import checkpoints, repository
from exchange.audit.errors import AuditUnavailable
from exchange.audit.groupcommit import GroupCommit, KeptConnection
from exchange.audit.keys import Signer, SigningKey
from exchange.audit.records import AppendedEntry, AuditRecord, stored_values
from exchange.audit.rules import (
    GENESIS,
    chain_hash,
    checkpoint_statement,
    head_statement,
    ms,
    sign,
    statement_hash,
)
from exchange.core.db import utcnow
from exchange.core.settings import Settings
from exchange.observability.dberrors import describe_db_error

log = logging.getLogger("datarun.audit")


class AuditLog:
    """The hub's access log writer (one per process; thread-safe)."""

    def __init__(self, url: str, settings: Settings, *, group_commit: bool | None = None):
        self._engine = repository.make_audit_engine(url)
        self._signer = Signer(settings.secret_key.get_secret_value())
        self._dir = checkpoints.checkpoint_dir(settings)
        self._every = settings.audit_checkpoint_every
        self._period = timedelta(seconds=settings.audit_checkpoint_seconds)
        self._timeout = settings.audit_append_timeout_seconds
        self._group = settings.audit_group_commit if group_commit is None else group_commit
        self._tail = False  # entries written here that no checkpoint covers yet
        self._committer = GroupCommit(
            self, self._engine, timeout=self._timeout, batch_max=settings.audit_batch_max
        )

    @property
    def engine(self) -> Engine:
        """The log's own engine."""
        return self._engine

    # The append API ----------------------------------------------------------------------

    def append(self, record: AuditRecord) -> AppendedEntry:
        """Commit one entry and return where it landed; raise ``AuditUnavailable`` if not."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[AppendedEntry]:
        """Commit several entries together (all or none), e.g. one per key of a batch pull."""
        batch = list(records)
        if not batch:
            return []
        if not self._group:
            return self._write(batch)
        return self._committer.append(batch)

    async def aappend(self, record: AuditRecord) -> AppendedEntry:
        """Commit one entry from async code without blocking the event loop."""
        return (await self.aappend_many([record]))[0]

    async def aappend_many(self, records: Sequence[AuditRecord]) -> list[AppendedEntry]:
        """Commit several entries together from async code."""
        batch = list(records)
        if not batch:
            return []
        if not self._group:
            return await asyncio.to_thread(self._write, batch)
        return await self._committer.aappend(batch)

    def checkpoint(self, *, force: bool = False) -> dict[str, Any] | None:
        """Make a checkpoint now if one is due (or, with ``force``, if any entry is uncovered)."""
        try:
            with self._engine.begin() as conn:
                head = repository.lock_head(conn)
                if head is None or head.size <= head.checkpoint_size:
                    return None
                now = ms(utcnow())
                recent = head.checkpoint_at and now - head.checkpoint_at < self._period
                if not force and head.size - head.checkpoint_size < self._every and recent:
                    return None
                key = self._signer.get(conn)
                doc = self._checkpoint(conn, key, head.size, head.chain_head, now, head)
                self._sign_head(
                    conn,
                    key,
                    size=head.size,
                    chain=head.chain_head,
                    at=head.at,
                    checkpoint=(head.size, doc["hash"], now),
                    exists=True,
                )
        except AuditUnavailable:
            raise
        except Exception as exc:
            log.error("access log checkpoint failed: %s", describe_db_error(exc))
            raise AuditUnavailable("the access log cannot be written") from exc
        self._signer.committed(key)
        self._tail = False
        checkpoints.publish(self._dir, [doc], [key.jwk])
        return doc

    def close(self) -> None:
        """Write what is queued, stop the appender thread and release connections."""
        self._committer.close()
        self._engine.dispose()

    # Writing -------------------------------------------------------------------------------

    def _write(
        self, records: list[AuditRecord], *, kept: KeptConnection | None = None
    ) -> list[AppendedEntry]:
        """Append ``records`` in one transaction under the log's lock.

        ``kept``: on the appender thread's own connection, kept from one commit to the next.
        """
        try:
            if kept is not None:
                appended, key, doc = kept.run(lambda conn: self._append(conn, records))
            else:
                with self._engine.begin() as conn:
                    appended, key, doc = self._append(conn, records)
        except AuditUnavailable:
            raise
        except Exception as exc:
            # Never the driver's own text: it may name the database's host, port and user.
            log.error("access log append failed: %s", describe_db_error(exc))
            raise AuditUnavailable("the access log cannot be written") from exc
        self._signer.committed(key)
        self._tail = doc is None
        if doc is not None:
            checkpoints.publish(self._dir, [doc], [key.jwk])
        return appended

    def _checkpoint_tail(self) -> None:
        """Checkpoint what no checkpoint covers yet (the idle appender thread's call)."""
        try:
            self.checkpoint()
        except AuditUnavailable as exc:
            log.warning("idle checkpoint failed: %s", exc)
            self._tail = False

    def _append(
        self, conn: Connection, records: list[AuditRecord]
    ) -> tuple[list[AppendedEntry], SigningKey, dict[str, Any] | None]:
        """Write ``records`` after the head, in ``conn``'s transaction; move the head."""
        head = repository.head_for_append(conn)
        now = ms(utcnow())
        if head is None:
            if repository.max_seq(conn) is not None:
                raise AuditUnavailable("the access log's head row is missing")
            size, chain, cp_size, cp_at = 0, GENESIS, 0, now
        else:
            size, chain, cp_size, cp_at = (
                head.size,
                head.chain_head,
                head.checkpoint_size,
                head.checkpoint_at or now,
            )
        key = self._signer.get(conn)
        rows: list[list[Any]] = []
        appended: list[AppendedEntry] = []
        for record in records:
            size += 1
            at = ms(record.at) if record.at is not None else now
            row, digest = stored_values(record, size, at)
            chain = chain_hash(chain, digest)
            row += (digest, chain)
            rows.append(row)
            appended.append(AppendedEntry(size, at, digest, chain))
        repository.insert_rows(conn, rows)
        doc = None
        cp: tuple[int, str | None, datetime] = (
            (cp_size, head.checkpoint_hash, cp_at) if head is not None else (0, None, now)
        )
        if size - cp_size >= self._every or now - cp_at >= self._period:
            doc = self._checkpoint(conn, key, size, chain, now, head)
            cp = (size, doc["hash"], now)
        exists = head is not None
        self._sign_head(conn, key, size=size, chain=chain, at=now, checkpoint=cp, exists=exists)
        return appended, key, doc

    def _checkpoint(
        self,
        conn: Connection,
        key: SigningKey,
        size: int,
        chain: str,
        now: datetime,
        head: Any,
    ) -> dict[str, Any]:
        previous = head.checkpoint_hash if head is not None else None
        statement = checkpoint_statement(
            size=size, chain_head=chain, at=now, previous=previous, key_id=key.kid
        )
        signature = sign(key.private, statement)
        digest = statement_hash(statement)
        repository.insert_checkpoint(
            conn,
            size=size,
            chain_head=chain,
            at=now,
            previous=previous,
            key_id=key.kid,
            signature=signature,
            statement_hash=digest,
        )
        return {"statement": statement, "signature": signature, "hash": digest}

    def _sign_head(
        self,
        conn: Connection,
        key: SigningKey,
        *,
        size: int,
        chain: str,
        at: datetime,
        checkpoint: tuple[int, str | None, datetime],
        exists: bool,
    ) -> None:
        cp_size, cp_hash, cp_at = checkpoint
        statement = head_statement(
            size=size,
            chain_head=chain,
            at=at,
            key_id=key.kid,
            checkpoint_size=cp_size,
            checkpoint=cp_hash,
        )
        values = {
            "size": size,
            "chain_head": chain,
            "at": at,
            "key_id": key.kid,
            "signature": sign(key.private, statement),
            "checkpoint_size": cp_size,
            "checkpoint_hash": cp_hash,
            "checkpoint_at": cp_at,
        }
        if exists:
            repository.update_head(conn, **values)
        else:
            repository.save_head(conn, exists=False, **values)
