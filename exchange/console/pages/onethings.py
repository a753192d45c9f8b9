"""One-thing pages: their materials, and the material-elimination report (材料免提交)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from catalogs.onethings import service
from catalogs.onethings.schemas import DEPARTMENT_CODE
from exchange.console import repository
from exchange.console.auth import ConsoleAuthz, ConsoleUser
from exchange.console.render import ConsoleRoute, render
from exchange.core.deps import DbSession
from exchange.core.pagination import PageParams

router = APIRouter(route_class=ConsoleRoute)
PAGE_SIZE = 50


@router.get("/one-things")
def one_things(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """List the one-things with their lead departments and materials."""
    authz.require(viewer.principal, obj="catalog", act="read")
    found = service.list_one_things(
        session, lead_department=None, page=PageParams(page=page, size=PAGE_SIZE)
    )
    return render(request, "onethings/list.html", {"found": found, "page": page, "size": PAGE_SIZE})


@router.get("/one-things/{code}")
def one_thing(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    code: str,
    consumer: Annotated[str | None, Query(pattern=DEPARTMENT_CODE)] = None,
) -> Response:
    """Show a one-thing's materials and which of them the hub pulls for a consumer."""
    authz.require(viewer.principal, obj="catalog", act="read")
    thing = service.get_one_thing(session, code=code)
    supply = request.app.state.supply_checks(session)
    report = service.elimination_report(session, code=code, consumer=consumer, supply=supply)
    departments = [(d.code, d.name) for d in repository.departments(session)]
    return render(
        request,
        "onethings/detail.html",
        {
            "thing": thing,
            "report": report,
            "departments": departments,
        },
    )
