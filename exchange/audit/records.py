"""What the record-pull path tells the access log: ``AuditRecord`` in, ``AppendedEntry`` out.

One record per data subject and decision: a batch pull of three keys appends three
records (``AuditLog.append_many``, one transaction). Values longer than their column are
cut and marked with "…"; NUL characters (which PostgreSQL text cannot hold) and lone
surrogates (which UTF-8 cannot) become U+FFFD: a garbage input in a denied request is
still logged rather than failing the append.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from exchange.audit.rules import (
    DECISIONS,
    ENTRY_FIELDS,
    LIST_FIELDS,
    canonical_row,
    format_at,
    list_text,
)

Decision = Literal["allowed", "partial", "denied", "source_error"]
# Column sizes: a longer value (say, a garbage key in a denied request) is cut, marked "…".
_LIMITS = {
    "request_id": 64,
    "system": 128,
    "department": 64,
    "token_jti": 64,
    "provider": 64,
    "resource_code": 64,
    "resource_version": 16,
    "subject_key": 256,
    "purpose": 128,
    "case_id": 128,
    "response_hash": 64,
    "reason": 4000,
}


def _clean(value: str | None, limit: int = 256) -> str | None:
    if value is None:
        return None
    if value.isascii() and "\x00" not in value and len(value) <= limit:
        return value  # the usual case: nothing to replace or cut
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800" decodes to one)
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    value = value.replace("\x00", "\ufffd")
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One decision to log, as the record-pull path knows it (one entry per data subject)."""

    decision: Decision
    outcome: int  # the HTTP status answered (200, 403, 503, ...)
    request_id: str | None = None
    system: str | None = None  # the calling system's client id
    department: str | None = None  # the caller's department code
    token_jti: str | None = None
    provider: str | None = None  # the provider department code
    resource_code: str | None = None
    resource_version: str | None = None
    items_requested: Sequence[str] = ()
    items_returned: Sequence[str] = ()
    subject_key: str | None = None  # the data subject's key (e.g. 公民身份号码)
    purpose: str | None = None  # the service item code
    case_id: str | None = None
    grant_ids: Sequence[int] = ()
    reason: str | None = None
    policy_version: int | None = None
    record_count: int = 0
    latency_ms: int = 0
    response_hash: str | None = None  # SHA-256 hex of the response body sent
    at: datetime | None = None  # when decided (aware); default: when appended

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {self.decision!r}")
        for name in ("outcome", "record_count", "latency_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if any(isinstance(g, bool) or not isinstance(g, int) for g in self.grant_ids):
            raise ValueError("grant_ids must be integers")
        for name in ("items_requested", "items_returned"):
            if isinstance(getattr(self, name), str) or not all(
                isinstance(i, str) for i in getattr(self, name)
            ):
                raise ValueError(f"{name} must be a list of item codes")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("at must be an aware datetime")

    def fields(self, seq: int, at: datetime) -> dict[str, Any]:
        """Return the stored (and hashed) fields of this record as entry ``seq``."""
        values: dict[str, Any] = {
            name: _clean(getattr(self, name), limit) for name, limit in _LIMITS.items()
        }
        values.update(
            seq=seq,
            at=at,
            decision=self.decision,
            outcome=self.outcome,
            items_requested=[_clean(i) for i in self.items_requested],
            items_returned=[_clean(i) for i in self.items_returned],
            grant_ids=list(self.grant_ids),
            policy_version=self.policy_version,
            record_count=self.record_count,
            latency_ms=self.latency_ms,
        )
        return values


_PLAN = [(name, _LIMITS.get(name, 0)) for name in ENTRY_FIELDS]


@dataclass(frozen=True)
class AppendedEntry:
    """Where an entry landed: its sequence number, time and hashes."""

    seq: int
    at: datetime
    entry_hash: str
    chain_hash: str


def stored_values(record: AuditRecord, seq: int, at: datetime) -> tuple[list[Any], str]:
    """Return entry ``seq``'s stored values in ``ENTRY_FIELDS`` order, and its entry_hash.

    As ``stored_row``: list fields as their canonical text, ``at`` as given (the database
    layer formats it); the hash is over exactly these values (``rules.canonical_row``).
    """
    row: list[Any] = []
    for name, limit in _PLAN:  # what ``fields`` does, without its dict
        if name == "seq":
            row.append(seq)
        elif name == "at":
            row.append(format_at(at))
        elif name == "grant_ids":
            row.append(list_text(list(record.grant_ids)))
        elif name in LIST_FIELDS:
            row.append(list_text([_clean(i) for i in getattr(record, name)]))
        elif limit:
            row.append(_clean(getattr(record, name), limit))
        else:
            row.append(getattr(record, name))
    digest = hashlib.sha256(canonical_row(row)).hexdigest()
    row[0] = at  # "at" comes first in ENTRY_FIELDS
    return row, digest


def stored_row(values: dict[str, Any]) -> dict[str, Any]:
    """Return an entry's row as stored (lists as their canonical text) with its entry_hash.

    The hashed bytes are built from exactly the stored text (``rules.canonical_row``, the
    fast form of ``rules.canonical_entry``), so what is written is what verify rehashes.
    """
    row = {n: list_text(values[n]) if n in LIST_FIELDS else values[n] for n in ENTRY_FIELDS}
    at: datetime = values["at"]
    hashed = [format_at(at) if n == "at" else row[n] for n in ENTRY_FIELDS]
    row["entry_hash"] = hashlib.sha256(canonical_row(hashed)).hexdigest()
    return row
