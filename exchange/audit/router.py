"""HTTP routes of the access log (访问日志) for auditors and province administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from exchange.audit import service
from exchange.audit.schemas import (
    AuditEntryRead,
    CheckpointDocument,
    Decision,
    JWKSet,
    ReportRead,
    ReportRequest,
    VerifyReport,
    VerifyRequest,
)
from exchange.core.deps import AppSettings, DbSession
from exchange.core.inputs import INT64_MAX, Seq
from exchange.core.pagination import Page, Pagination
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Text = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.get("/entries")
def search_entries(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    page: Pagination,
    since: Annotated[datetime | None, Query(alias="from", description="at or after")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="before")] = None,
    department: Text = None,
    system: Text = None,
    resource: Annotated[str | None, Query(max_length=64, description="资源代码")] = None,
    subject: Annotated[str | None, Query(max_length=256, description="data subject's key")] = None,
    purpose: Text = None,
    case_id: Text = None,
    decision: Decision | None = None,
) -> Page[AuditEntryRead]:
    """Search the access log, newest first (auditors and province administrators)."""
    service.require_auditor(principal, authz)
    filters = service.EntryFilters(
        since=since,
        until=until,
        department=department,
        system=system,
        resource=resource,
        subject=subject,
        purpose=purpose,
        case_id=case_id,
        decision=decision,
    )
    return service.search(session, filters=filters, page=page)


@router.get("/entries/{seq}")
def get_entry(
    seq: Seq, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> AuditEntryRead:
    """Return one access-log entry by its sequence number."""
    service.require_auditor(principal, authz)
    return service.get_entry(session, seq=seq)


@router.post("/verify")
def verify(
    body: VerifyRequest,
    request: Request,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
) -> VerifyReport:
    """Recompute every hash and check every signed checkpoint; name the first bad entry."""
    service.require_auditor(principal, authz, act="verify")
    return service.verify(request.app.state.engine, settings=settings, from_seq=body.from_seq)


@router.get("/checkpoints")
def list_checkpoints(
    request: Request,
    principal: CurrentPrincipal,
    authz: Authz,
    after: Annotated[
        int | None, Query(ge=0, le=INT64_MAX, description="only checkpoints past this size")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CheckpointDocument]:
    """Return signed checkpoints in order, for a witness to keep."""
    service.require_auditor(principal, authz)
    return service.checkpoint_documents(request.app.state.engine, after=after, limit=limit)


@router.get("/checkpoint-key")
def checkpoint_key(request: Request) -> JWKSet:
    """Return the public key(s) that sign checkpoints and export manifests (public)."""
    return service.checkpoint_keys(request.app.state.engine)


@router.post("/reports")
def run_report(
    body: ReportRequest, principal: CurrentPrincipal, authz: Authz, settings: AppSettings
) -> ReportRead:
    """Run a DuckDB report over the hub's Parquet exports (manifests checked first)."""
    service.require_auditor(principal, authz)
    return service.report(settings, request=body)
