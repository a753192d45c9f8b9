"""The access log's tables: entries, checkpoints, the signed head and the checkpoint keys."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from exchange.audit.rules import list_text
from exchange.core.db import Base

# INTEGER PRIMARY KEY is SQLite's rowid: the ordered scan verify does is the table itself.
SEQ = BigInteger().with_variant(Integer(), "sqlite")


class CanonicalList(TypeDecorator[list[Any]]):
    """A list kept as its canonical JSON text, so the stored bytes are the hashed bytes."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Any) -> str | None:
        return None if value is None else list_text(value)

    def process_result_value(self, value: str | None, dialect: Any) -> list[Any] | None:
        return None if value is None else json.loads(value)


class AuditEntry(Base):
    """One decision on one data subject's records: allowed, partial, denied or source error.

    Append-only: no code updates or deletes a row, and a database trigger refuses it.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_department_at", "department", "at"),
        Index("ix_audit_entries_resource_code_at", "resource_code", "at"),
    )

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    system: Mapped[str | None] = mapped_column(String(128), index=True)  # client id
    department: Mapped[str | None] = mapped_column(String(64))  # the caller's department
    token_jti: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))  # the provider department
    resource_code: Mapped[str | None] = mapped_column(String(64))
    resource_version: Mapped[str | None] = mapped_column(String(16))
    items_requested: Mapped[list[Any]] = mapped_column(CanonicalList())
    items_returned: Mapped[list[Any]] = mapped_column(CanonicalList())
    subject_key: Mapped[str | None] = mapped_column(String(256), index=True)
    purpose: Mapped[str | None] = mapped_column(String(128))
    case_id: Mapped[str | None] = mapped_column(String(128), index=True)
    grant_ids: Mapped[list[Any]] = mapped_column(CanonicalList())
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[int] = mapped_column(Integer)  # the HTTP status answered
    record_count: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement of the log's size and chain head, linked to the previous one."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    chain_head: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    previous: Mapped[str | None] = mapped_column(String(64))  # the previous statement's hash
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    statement_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The log's end, signed at every commit (one row, id 1; the lock every append takes).

    A forged entry appended after it, or the tail cut below it, no longer matches its
    signature; the last checkpoint's hash is kept here so a deleted one is noticed too.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    chain_head: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    key_id: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_hash: Mapped[str | None] = mapped_column(String(64))
    checkpoint_at: Mapped[datetime | None]


class AuditKey(Base):
    """The Ed25519 key that signs checkpoints, heads and export manifests (not a token key)."""

    __tablename__ = "audit_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_jwk: Mapped[dict[str, Any]]
    private_key_encrypted: Mapped[str] = mapped_column(Text)  # with the hub secret
    created_at: Mapped[datetime]
