"""The auditors' use of the access log: search, verify, checkpoints and reports.

Only auditors (审计) and province administrators read the log: casbin's ``audit`` object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from exchange.audit import checkpoints, reports, repository
from exchange.audit.schemas import (
    AuditEntryRead,
    CheckpointDocument,
    JWKSet,
    ProblemRead,
    ReportRead,
    ReportRequest,
    VerifyReport,
)
from exchange.audit.verify import VerifyResult, verify_log
from exchange.core.errors import InvalidInput, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.core.settings import Settings
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal


@dataclass(frozen=True, kw_only=True)
class EntryFilters:
    """Search filters; each one given narrows the result."""

    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None
    system: str | None = None
    resource: str | None = None
    subject: str | None = None
    purpose: str | None = None
    case_id: str | None = None
    decision: str | None = None

    def columns(self) -> dict[str, Any]:
        """Return the equality filters as column → value."""
        pairs = {
            "department": self.department,
            "system": self.system,
            "resource_code": self.resource,
            "subject_key": self.subject,
            "purpose": self.purpose,
            "case_id": self.case_id,
            "decision": self.decision,
        }
        return {k: v for k, v in pairs.items() if v is not None}


def require_auditor(principal: Principal, authz: Authorizer, act: str = "read") -> None:
    """Raise ``Forbidden`` unless the caller may ``act`` on the access log."""
    authz.require(principal, obj="audit", act=act)


def search(session: Session, *, filters: EntryFilters, page: PageParams) -> Page[AuditEntryRead]:
    """Return one page of entries, newest first."""
    if filters.since and filters.until and filters.since >= filters.until:
        raise InvalidInput(
            "the time range is empty", errors=[{"field": "to", "message": "must be after from"}]
        )
    rows, total = repository.search_entries(
        session,
        filters=filters.columns(),
        since=filters.since,
        until=filters.until,
        offset=page.offset,
        limit=page.size,
    )
    items = [AuditEntryRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


def get_entry(session: Session, *, seq: int) -> AuditEntryRead:
    """Return one entry by sequence number."""
    entry = repository.get_entry(session, seq)
    if entry is None:
        raise NotFound(f"no access-log entry {seq}")
    return AuditEntryRead.model_validate(entry)


def to_report(result: VerifyResult) -> VerifyReport:
    """Return the API shape of a verification result."""
    return VerifyReport(
        ok=result.ok,
        size=result.size,
        from_seq=result.from_seq,
        entries_checked=result.entries_checked,
        checkpoints_checked=result.checkpoints_checked,
        first_bad_seq=result.first_bad_seq,
        problems=[ProblemRead(seq=p.seq, kind=p.kind, detail=p.detail) for p in result.problems],
        seconds=round(result.seconds, 3),
        rate=round(result.rate, 1),
    )


def verify(engine: Engine, *, settings: Settings, from_seq: int) -> VerifyReport:
    """Verify the log (in this process) against its checkpoints and head."""
    result = verify_log(engine, secret=settings.secret_key.get_secret_value(), from_seq=from_seq)
    return to_report(result)


def checkpoint_documents(
    engine: Engine, *, after: int | None, limit: int
) -> list[CheckpointDocument]:
    """Return signed checkpoints in size order (what a witness keeps)."""
    with engine.connect() as conn:
        rows = repository.checkpoint_rows(conn, after=after, limit=limit)
    return [CheckpointDocument(**checkpoints.document(r)) for r in rows]


def checkpoint_keys(engine: Engine) -> JWKSet:
    """Return the public checkpoint keys."""
    with engine.connect() as conn:
        return JWKSet(keys=[dict(r.public_jwk) for r in repository.all_keys(conn)])


def export_dir(settings: Settings) -> Path:
    """Return the directory the API's reports read exports from."""
    return settings.audit_export_dir or settings.data_dir / "exports"


def report(settings: Settings, *, request: ReportRequest) -> ReportRead:
    """Run a DuckDB report over the hub's exports (their manifests are checked first)."""
    con = reports.connect(export_dir(settings))
    try:
        result = reports.run(
            con,
            request.name,
            limit=request.limit,
            threshold=request.threshold,
            z=request.z,
            subject=request.subject,
            secret=settings.secret_key.get_secret_value(),
        )
    finally:
        con.close()
    return ReportRead(name=result.name, columns=result.columns, rows=[list(r) for r in result.rows])
