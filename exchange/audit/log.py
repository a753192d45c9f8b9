"""Appending to the access log: durable before data leaves, one ordered chain, fail closed.

``app.state.audit`` is an ``AuditLog``. The record-pull path calls ``append`` (or
``aappend`` from async code) with an ``AuditRecord`` and gets an ``AppendedEntry`` once
the entry is committed, in a transaction of the log's own (never the request's). Any
failure raises ``AuditUnavailable`` (503): the caller must then send no data.

Several hub processes on one PostgreSQL append to one chain: every append transaction
locks the head row (``SELECT … FOR UPDATE``) and reads the chain head inside the lock.
Within a process, group commit lets one appender thread write everything queued
meanwhile in one transaction, each caller waiting for the commit that holds its entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from exchange.audit import checkpoints, repository
from exchange.audit.errors import AuditUnavailable
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


@dataclass
class _Pending:
    records: list[AuditRecord]
    # A thread's caller waits on ``future``; an async caller on ``waiter``, settled on its
    # loop (one wake-up per loop and commit), and sets ``abandoned`` if it stops waiting.
    future: Future[list[AppendedEntry]] | None = None
    waiter: asyncio.Future[list[AppendedEntry]] | None = None
    abandoned: bool = False

    def claim(self) -> bool:
        """Whether the appender may write this (False: its caller gave up before)."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return not self.abandoned


class AuditLog:
    """The hub's access log writer (one per process; thread-safe)."""

    def __init__(self, url: str, settings: Settings, *, group_commit: bool | None = None):
        self._settings = settings
        self._engine = repository.make_audit_engine(url)
        self._signer = Signer(settings.secret_key.get_secret_value())
        self._dir = checkpoints.checkpoint_dir(settings)
        self._every = settings.audit_checkpoint_every
        self._period = timedelta(seconds=settings.audit_checkpoint_seconds)
        self._timeout = settings.audit_append_timeout_seconds
        self._group = settings.audit_group_commit if group_commit is None else group_commit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._tail = False  # entries written here that no checkpoint covers yet
        self._kept: Connection | None = None  # the appender thread's own connection

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
        pending = self._submit(batch, future=Future())
        assert pending.future is not None
        try:
            return pending.future.result(timeout=self._timeout)
        except FutureTimeout:
            pending.future.cancel()  # not written if still queued
            raise AuditUnavailable(
                f"the access log did not commit within {self._timeout:g} s"
            ) from None

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
        waiter = asyncio.get_running_loop().create_future()
        pending = self._submit(batch, waiter)
        try:
            async with asyncio.timeout(self._timeout):
                return await waiter
        except TimeoutError:
            pending.abandoned = True  # not written if still queued
            raise AuditUnavailable(
                f"the access log did not commit within {self._timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            pending.abandoned = True
            raise

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
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=self._timeout + 5)
        self._thread = None
        self._drop_kept()
        self._engine.dispose()

    # Writing -------------------------------------------------------------------------------

    def _write(self, records: list[AuditRecord], *, kept: bool = False) -> list[AppendedEntry]:
        """Append ``records`` in one transaction under the log's lock.

        ``kept``: on the appender thread's own connection, kept from one commit to the next
        (checking a connection out of the pool, pinging it and checking it back in cost
        about a third of the appender's time).
        """
        try:
            if kept:
                appended, key, doc = self._write_kept(records)
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

    def _write_kept(
        self, records: list[AuditRecord]
    ) -> tuple[list[AppendedEntry], SigningKey, dict[str, Any] | None]:
        """Append on the kept connection; if it fails before the commit, once on a new one.

        A kept connection the database dropped meanwhile (a restart, an idle timeout) fails
        on its first statement: nothing was written, so the batch is tried again on a fresh
        connection. A failure at the commit itself is never retried (it may have happened).
        """
        while True:
            reused = self._kept is not None and not (self._kept.closed or self._kept.invalidated)
            if not reused:
                self._kept = self._engine.connect()
            conn = self._kept
            assert conn is not None
            committing = False
            try:
                transaction = conn.begin()
                result = self._append(conn, records)
                committing = True
                transaction.commit()
                return result
            except Exception as exc:
                self._drop_kept()
                if committing or not reused or isinstance(exc, AuditUnavailable):
                    raise

    def _drop_kept(self) -> None:
        """Close the kept connection (a failed one is invalidated: never reused)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            with contextlib.suppress(Exception):
                kept.invalidate()
            with contextlib.suppress(Exception):
                kept.close()

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

    # Group commit --------------------------------------------------------------------------

    def _submit(
        self,
        records: list[AuditRecord],
        waiter: asyncio.Future[list[AppendedEntry]] | None = None,
        *,
        future: Future[list[AppendedEntry]] | None = None,
    ) -> _Pending:
        pending = _Pending(records, future=future, waiter=waiter)
        self._queue.put(pending)
        self._ensure_thread()
        return pending

    def _ensure_thread(self) -> None:
        # Always under the lock: the thread decides to exit under it too (see ``_appender``).
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=_appender, args=(weakref.ref(self),), name="audit-appender", daemon=True
                )
                self._thread.start()

    def _take_batch(self, first: _Pending | None) -> tuple[list[_Pending], bool]:
        """Collect what is queued behind ``first`` (up to the batch size); None means stop."""
        batch: list[_Pending] = []
        stop = first is None
        count = 0
        item = first
        while item is not None:
            if item.claim():
                batch.append(item)
                count += len(item.records)
            if count >= self._settings.audit_batch_max:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
        return batch, stop

    def _idle(self) -> bool:
        """Checkpoint an idle tail; return whether the thread should now exit."""
        if self._tail:
            try:
                self.checkpoint()
            except AuditUnavailable as exc:
                log.warning("idle checkpoint failed: %s", exc)
                self._tail = False
            return False
        with self._start_lock:
            if self._queue.empty():
                self._thread = None
                self._drop_kept()  # a new thread takes a new connection
                return True  # the next append starts a new thread
        return False

    def _commit(self, batch: list[_Pending]) -> None:
        records = [r for p in batch for r in p.records]
        try:
            appended = self._write(records, kept=True)
        except AuditUnavailable as exc:
            _settle(batch, error=exc)
            return
        except BaseException as exc:  # a bug must still release the callers (fail closed)
            log.exception("access log appender failed", exc_info=exc)
            _settle(batch, error=AuditUnavailable("the access log cannot be written"))
            return
        results = []
        start = 0
        for p in batch:
            results.append(appended[start : start + len(p.records)])
            start += len(p.records)
        _settle(batch, results=results)


def _settle(
    batch: list[_Pending],
    *,
    results: list[list[AppendedEntry]] | None = None,
    error: BaseException | None = None,
) -> None:
    """Release the callers of a batch: threads at once, async callers one loop call each loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, Any]]] = {}
    for i, p in enumerate(batch):
        outcome: Any = error
        if results is not None:
            outcome = results[i]
            if p.future is not None:
                p.future.set_result(outcome)
        else:
            if p.future is not None:
                p.future.set_exception(error)
        if p.waiter is not None:
            by_loop.setdefault(p.waiter.get_loop(), []).append((p, outcome))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle_waiters, items, results is None)


def _settle_waiters(items: list[tuple[_Pending, Any]], failed: bool) -> None:
    for p, outcome in items:
        waiter = p.waiter
        if waiter is None or waiter.done():  # its caller gave up (timeout, cancelled)
            continue
        if failed:
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _appender(ref: weakref.ref[AuditLog]) -> None:
    """The appender thread: write whatever is queued as one batch; checkpoint an idle tail.

    It holds its log only weakly while it waits, so a log nobody uses any more (an app
    that was dropped without ``close``) lets its thread end.
    """
    idle_since = time.monotonic()
    while True:
        audit = ref()
        if audit is None:
            return
        wait = audit._period.total_seconds() if audit._tail else 1.0
        pending = audit._queue
        del audit
        try:
            first = pending.get(timeout=wait)
        except queue.Empty:
            audit = ref()
            if audit is None:
                return
            if (audit._tail or time.monotonic() - idle_since > 1.0) and audit._idle():
                return
            continue
        audit = ref()
        if audit is None:
            return
        batch, stop = audit._take_batch(first)
        if batch:
            audit._commit(batch)
        idle_since = time.monotonic()
        if stop:
            return
