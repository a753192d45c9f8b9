"""HTTP routes for grants (共享权限), the permission views and the data-demand planner.

The demand list and planner live under ``/v1/one-things/{code}/demand`` (they read like a
one-thing's own report) but are served from here: the catalogue knows nothing of grants.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from exchange.core.deps import AppSettings, DbSession
from exchange.core.inputs import Id
from exchange.core.pagination import Page, Pagination
from exchange.grants import decisions, demand, service, views
from exchange.grants.schemas import (
    DEPARTMENT_CODE,
    Approval,
    DemandFiling,
    DemandList,
    GrantCreate,
    GrantDetail,
    GrantRead,
    Recertification,
    Refusal,
    ResourcePermissions,
    Revocation,
    Role,
    Status,
    SystemPermissions,
)
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["grants"])


def denial_recorder(request: Request) -> service.DenialRecorder:
    """Return the recorder that keeps refused attempts in a transaction of their own."""
    return service.denial_recorder(request.app.state.sessionmaker)


Denials = Annotated[service.DenialRecorder, Depends(denial_recorder)]
Consumer = Annotated[
    str | None,
    Query(pattern=DEPARTMENT_CODE, description="the consumer department (the caller's)"),
]


def _detail(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, grant_id: int
) -> GrantDetail:
    return views.get_grant(session, grant_id=grant_id, principal=principal, authz=authz)


@router.post("/grants", status_code=status.HTTP_201_CREATED)
def request_grant(
    body: GrantCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
) -> GrantDetail:
    """Request a grant; 无条件共享 is approved and 不予共享 refused at once, by rule."""
    grant = service.request_grant(
        session, data=body, actor=principal, authz=authz, settings=settings
    )
    session.flush()
    return _detail(session, principal, authz, grant.id)


@router.get("/grants")
def list_grants(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    page: Pagination,
    role: Annotated[Role | None, Query(description="as consumer or as provider")] = None,
    department: Annotated[
        str | None, Query(pattern=DEPARTMENT_CODE, description="whose grants (the caller's)")
    ] = None,
    status: Annotated[Status | None, Query(description="status today")] = None,
    overdue: Annotated[bool, Query(description="pending past the due date only")] = False,
    expiring_within_days: Annotated[
        int | None, Query(ge=0, le=3660, description="in force and ending within N days")
    ] = None,
) -> Page[GrantRead]:
    """List grants as consumer or provider, pending, overdue or expiring."""
    return views.list_grants(
        session,
        principal=principal,
        authz=authz,
        page=page,
        role=role,
        department=department,
        status=status,
        overdue=overdue,
        expiring_within_days=expiring_within_days,
    )


@router.get("/grants/{grant_id}")
def get_grant(
    grant_id: Id, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> GrantDetail:
    """Show a grant with its full history: who did what, when and why."""
    return _detail(session, principal, authz, grant_id)


@router.post("/grants/{grant_id}/approve")
def approve(
    grant_id: Id,
    body: Approval,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> GrantDetail:
    """Approve a pending request (the provider's admins), possibly narrowing items or period."""
    decisions.approve(
        session,
        grant_id=grant_id,
        data=body,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _detail(session, principal, authz, grant_id)


@router.post("/grants/{grant_id}/refuse")
def refuse(
    grant_id: Id,
    body: Refusal,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> GrantDetail:
    """Refuse a pending request, with the required reason."""
    decisions.refuse(
        session,
        grant_id=grant_id,
        reason=body.reason,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _detail(session, principal, authz, grant_id)


@router.post("/grants/{grant_id}/revoke")
def revoke(
    grant_id: Id,
    body: Revocation,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> GrantDetail:
    """Revoke an approved grant at once (provider or province admin), with a reason."""
    decisions.revoke(
        session,
        grant_id=grant_id,
        reason=body.reason,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _detail(session, principal, authz, grant_id)


@router.post("/grants/{grant_id}/recertify")
def recertify(
    grant_id: Id,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
    body: Recertification | None = None,
) -> GrantDetail:
    """Re-certify (复核) an approved grant for another year (the provider's admins)."""
    decisions.recertify(
        session,
        grant_id=grant_id,
        reason=body.reason if body else None,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _detail(session, principal, authz, grant_id)


@router.get("/permissions/resources/{code:path}")
def resource_permissions(
    code: str, session: DbSession, principal: CurrentPrincipal, authz: Authz, page: Pagination
) -> ResourcePermissions:
    """Who can read a resource: which departments and systems, which items, for what, until when."""
    return views.resource_permissions(
        session, code=code, principal=principal, authz=authz, page=page
    )


@router.get("/permissions/systems/{client_id}")
def system_permissions(
    client_id: str, session: DbSession, principal: CurrentPrincipal, authz: Authz, page: Pagination
) -> SystemPermissions:
    """What a system can read: its own grants and those inherited from its department."""
    return views.system_permissions(
        session, client_id=client_id, principal=principal, authz=authz, page=page
    )


@router.get("/one-things/{code}/demand")
def demand_list(
    code: str,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    consumer: Consumer = None,
) -> DemandList:
    """数据需求清单: the grants a one-thing's pullable materials need, held, pending or missing."""
    return demand.demand_list(
        session, code=code, consumer=consumer, principal=principal, authz=authz
    )


@router.post("/one-things/{code}/demand/file")
def file_demand(
    code: str,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
    consumer: Consumer = None,
    dry_run: Annotated[bool, Query(description="only say what would be filed")] = False,
) -> DemandFiling:
    """File one request per missing (resource, purpose) of a one-thing; dry_run=true to preview."""
    return demand.file_demand(
        session,
        code=code,
        consumer=consumer,
        dry_run=dry_run,
        principal=principal,
        authz=authz,
        settings=settings,
    )
