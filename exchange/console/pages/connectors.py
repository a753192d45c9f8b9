"""Connector pages: bindings, check and describe from the page, health over time."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import anyio.from_thread
from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from exchange.bindings import repository as bindings_repository
from exchange.bindings import service
from exchange.console import charts
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm, Viewer
from exchange.console.render import ConsoleRoute, local_time, redirect, refusal, render
from exchange.core.deps import DbSession
from exchange.core.errors import DomainError
from exchange.core.pagination import PageParams
from exchange.identity.authz import Authorizer

router = APIRouter(route_class=ConsoleRoute)
T = TypeVar("T")
PAGE_SIZE = 50
HISTORY = 60  # checks shown in the health chart


def _run(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Page handlers run in a worker thread; the app's pooled connectors live on its loop.
    return anyio.from_thread.run(fn)


@router.get("/connectors")
def bindings(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """List the bindings the viewer administers, each with its last health check."""
    authz.require(viewer.principal, obj="binding", act="read")
    rows, total = service.list_bindings(
        session, page=PageParams(page=page, size=PAGE_SIZE), actor=viewer.principal, authz=authz
    )
    return render(
        request,
        "connectors/list.html",
        {
            "rows": service.to_reads(session, rows),
            "total": total,
            "page": page,
            "size": PAGE_SIZE,
        },
    )


def health_chart(checks: list[Any]) -> charts.Chart:
    """Lay out the latency of the newest checks, oldest left; a failed check shows red."""
    rows = [
        (local_time(c.at)[5:], {"ok" if c.ok else "down": max(1, round(c.latency_ms))})
        for c in reversed(checks)
    ]
    return charts.stacked_columns(rows, ["ok", "down"], label_every=max(1, len(rows) // 6))


def _detail(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    code: str,
    *,
    columns: list[Any] | None = None,
    problem: str | None = None,
    done: str | None = None,
) -> Response:
    row = service.get_binding(session, code=code, actor=viewer.principal, authz=authz)
    binding = service.to_read(row, bindings_repository.last_checks(session, [row.id]).get(row.id))
    checks, total = service.list_checks(
        session,
        code=code,
        page=PageParams(page=1, size=HISTORY),
        actor=viewer.principal,
        authz=authz,
    )
    ok = sum(1 for c in checks if c.ok)
    return render(
        request,
        "connectors/detail.html",
        {
            "b": binding,
            "checks": checks,
            "total_checks": total,
            "health_chart": health_chart(checks),
            "availability": (ok / len(checks)) if checks else None,
            "columns": columns,
            "problem": problem,
            "done": done,
            "may_check": authz.allowed(
                viewer.principal, obj="binding", act="write", domain=binding.provider
            ),
        },
    )


@router.post("/connectors/{code:path}/check")
def check(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
    code: str,
) -> Response:
    """Ask the source whether it answers now; the result joins the health history."""
    service.check_binding(
        session,
        code=code,
        settings=request.app.state.settings,
        actor=viewer.principal,
        authz=authz,
        pool=request.app.state.connector_pool,
        run=_run,
    )
    return redirect(f"/console/connectors/{code}?done=check")


@router.get("/connectors/{code:path}/describe")
def describe(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz, code: str
) -> Response:
    """List the columns the bound source offers, to help map items to them."""
    try:
        columns = service.describe_binding(
            session,
            code=code,
            settings=request.app.state.settings,
            actor=viewer.principal,
            authz=authz,
            pool=request.app.state.connector_pool,
            run=_run,
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _detail(request, session, viewer, authz, code, problem=refusal(request, exc))
    return _detail(request, session, viewer, authz, code, columns=columns)


@router.get("/connectors/{code:path}")
def binding(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    code: str,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Show a binding (secrets masked) and its health over time."""
    return _detail(request, session, viewer, authz, code, done=done)
