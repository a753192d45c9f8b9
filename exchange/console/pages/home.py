"""The console's home: what waits for the viewer, and where to go."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from exchange.console import repository
from exchange.console.auth import ConsoleAuthz, ConsoleUser
from exchange.console.render import ConsoleRoute, render
from exchange.core.deps import DbSession
from exchange.core.pagination import PageParams
from exchange.core.scoping import default_role
from exchange.grants import views as grant_views
from exchange.objections import views as objection_views

router = APIRouter(route_class=ConsoleRoute)
_ONE = PageParams(page=1, size=1)


@router.get("/")
def home(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz
) -> Response:
    """Show the viewer's waiting work: grant requests, objections, the log's size."""
    p = viewer.principal
    counts: dict[str, Any] = {}
    role = default_role(p)
    if authz.allowed(p, obj="grant", act="read"):
        pending = grant_views.list_grants(
            session, principal=p, authz=authz, page=_ONE, role=role, status="pending"
        )
        overdue = grant_views.list_grants(
            session,
            principal=p,
            authz=authz,
            page=_ONE,
            role=role,
            status="pending",
            overdue=True,
        )
        counts["pending"], counts["overdue"] = pending.total, overdue.total
    if authz.allowed(p, obj="objection", act="read"):
        found = objection_views.list_objections(
            session, principal=p, authz=authz, page=_ONE, role=role, status="open"
        )
        counts["objections"] = found.total
    if authz.allowed(p, obj="audit", act="read"):
        counts["log_size"] = repository.log_size(session)
    return render(request, "home.html", {"counts": counts})
