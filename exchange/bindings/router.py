"""HTTP routes for connector bindings: map a resource to its department's source.

资源代码 contain "/", so routes take ``{code:path}``; the longer routes (``/checks``,
``/check``, ``/describe``) are declared before the bare ones so they match first.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import anyio.from_thread
from fastapi import APIRouter, Depends, Query, Request, Response

from exchange.bindings import repository, service
from exchange.bindings.pool import ConnectorPool
from exchange.bindings.schemas import BindingRead, BindingWrite, CheckRead, SourceColumnRead
from exchange.core.deps import AppSettings, DbSession
from exchange.core.pagination import Page, Pagination
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1/bindings", tags=["connector bindings"])
T = TypeVar("T")


def get_pool(request: Request) -> ConnectorPool:
    """Return the app's live connectors."""
    pool: ConnectorPool = request.app.state.connector_pool
    return pool


Pool = Annotated[ConnectorPool, Depends(get_pool)]


def _run(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Sync routes run in a worker thread; the app's pooled connectors live on its loop.
    return anyio.from_thread.run(fn)


@router.get("")
def list_bindings(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, page: Pagination
) -> Page[BindingRead]:
    """List the bindings you administer (all of them for a province administrator)."""
    rows, total = service.list_bindings(session, page=page, actor=principal, authz=authz)
    items = service.to_reads(session, rows)
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/{code:path}/checks")
def list_checks(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, page: Pagination, code: str
) -> Page[CheckRead]:
    """Show a binding's health over time, newest check first."""
    rows, total = service.list_checks(session, code=code, page=page, actor=principal, authz=authz)
    items = [CheckRead.model_validate(r, from_attributes=True) for r in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.post("/{code:path}/check")
def check_binding(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
    pool: Pool,
    code: str,
) -> CheckRead:
    """Ask the source whether it answers now; the result is kept in the health history."""
    check = service.check_binding(
        session,
        code=code,
        settings=settings,
        actor=principal,
        authz=authz,
        pool=pool,
        run=_run,
    )
    return CheckRead.model_validate(check, from_attributes=True)


@router.get("/{code:path}/describe")
def describe_binding(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
    pool: Pool,
    code: str,
) -> list[SourceColumnRead]:
    """List the columns the bound source offers, to help map items to them."""
    columns = service.describe_binding(
        session,
        code=code,
        settings=settings,
        actor=principal,
        authz=authz,
        pool=pool,
        run=_run,
    )
    return [SourceColumnRead(name=c.name, type=c.type, nullable=c.nullable) for c in columns]


@router.get("/{code:path}")
def get_binding(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, code: str
) -> BindingRead:
    """Show a resource's binding; secrets are masked."""
    row = service.get_binding(session, code=code, actor=principal, authz=authz)
    return service.to_read(row, repository.last_checks(session, [row.id]).get(row.id))


@router.put("/{code:path}")
def put_binding(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
    pool: Pool,
    response: Response,
    code: str,
    data: BindingWrite,
    verify: Annotated[
        bool,
        Query(description="check the live source has every mapped column; false saves anyway"),
    ] = True,
) -> BindingRead:
    """Bind a resource to its source (create or replace), checked against the live source."""
    row, created = service.put_binding(
        session,
        code=code,
        data=data,
        settings=settings,
        actor=principal,
        authz=authz,
        verify=verify,
        pool=pool,
        run=_run,
    )
    response.status_code = 201 if created else 200
    return service.to_read(row)


@router.delete("/{code:path}", status_code=204)
def delete_binding(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, pool: Pool, code: str
) -> None:
    """Remove a resource's binding."""
    service.delete_binding(session, code=code, actor=principal, authz=authz, pool=pool)
