"""HTTP routes for catalogue entries (政务信息资源目录).

资源代码 contain "/", so routes take ``{code:path}``; the longer routes (``/versions``,
``/status``) are declared before the bare ones so they match first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from catalogs.resources import service
from catalogs.resources.schemas import (
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    ShareType,
    Status,
    StatusChange,
    UpdateCycle,
    VersionRead,
)
from exchange.core.deps import DbSession
from exchange.core.pagination import Page, Pagination
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1/catalog/resources", tags=["catalogue"])


@router.get("")
def search_resources(
    session: DbSession,
    principal: CurrentPrincipal,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=200, description="text to find (中文 too)")] = None,
    provider: Annotated[str | None, Query(max_length=64, description="department code")] = None,
    share_type: ShareType | None = None,
    update_cycle: UpdateCycle | None = None,
    status: Status | None = None,
) -> Page[ResourceRead]:
    """Search the catalogue by text, provider, sharing type, update cycle and status."""
    rows, total = service.search_resources(
        session,
        principal=principal,
        page=page,
        q=q,
        provider=provider,
        share_type=share_type,
        update_cycle=update_cycle,
        status=status,
    )
    items = [service.to_read(r) for r in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.post("", status_code=201)
def create_resource(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, data: ResourceCreate
) -> ResourceRead:
    """Create a catalogue entry as a draft (the provider's catalogue administrators)."""
    resource = service.create_resource(session, data=data, actor=principal, authz=authz)
    return service.to_read(resource)


@router.get("/{code:path}/versions")
def list_versions(session: DbSession, principal: CurrentPrincipal, code: str) -> list[VersionRead]:
    """Show an entry's version history: what changed, by whom, oldest first."""
    versions = service.list_versions(session, code=code, principal=principal)
    return [VersionRead.model_validate(v, from_attributes=True) for v in versions]


@router.post("/{code:path}/status")
def change_status(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, code: str, data: StatusChange
) -> ResourceRead:
    """Publish, deprecate, reinstate or retire an entry."""
    resource = service.change_status(
        session, code=code, status=data.status, reason=data.reason, actor=principal, authz=authz
    )
    return service.to_read(resource)


@router.get("/{code:path}")
def get_resource(session: DbSession, principal: CurrentPrincipal, code: str) -> ResourceRead:
    """Show one catalogue entry."""
    return service.to_read(service.get_resource(session, code=code, principal=principal))


@router.patch("/{code:path}")
def update_resource(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, code: str, data: ResourceUpdate
) -> ResourceRead:
    """Change an entry; the version bumps by what changed (items removed or retyped: major)."""
    resource = service.update_resource(session, code=code, data=data, actor=principal, authz=authz)
    return service.to_read(resource)
