"""Supervision pages (督察评估): scorecards per department and per one-thing, with charts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from exchange.console import charts
from exchange.console.auth import ConsoleAuthz, ConsoleUser
from exchange.console.i18n import Translator
from exchange.console.render import ConsoleRoute, language_of, render
from exchange.core.deps import DbSession
from exchange.grants.service import china_today
from exchange.supervision import service

router = APIRouter(route_class=ConsoleRoute)
BY = ("department", "one_thing")


def percent_rows(items: list[Any], value: Any) -> list[tuple[str, dict[str, int]]]:
    """Return chart rows of one percentage per report line (lines without a figure skipped)."""
    rows = []
    for item in items:
        share = value(item)
        if share is not None:
            rows.append((item.name, {"share": round(share * 100)}))
    return rows


@router.get("/supervision")
def scorecards(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    by: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    """Show the supervision scorecards of the viewer's scope (a department, or the province)."""
    authz.require(viewer.principal, obj="supervision", act="read")
    t = Translator(language_of(request))
    by = by if by in BY else "department"
    errors: dict[str, list[str]] = {}
    days: dict[str, date | None] = {"from": None, "to": None}
    for name, value in (("from", since), ("to", until)):
        if value:
            try:
                days[name] = date.fromisoformat(value)
            except ValueError:
                errors[name] = [t("form.date")]
    code = service.scope(session, principal=viewer.principal, authz=authz, department=None)
    build = service.department_report if by == "department" else service.one_thing_report
    report = build(
        session, since=days["from"], until=days["to"], today=china_today(), department=code
    )
    return render(
        request,
        "supervision.html",
        {
            "report": report,
            "by": by,
            "errors": errors,
            "values": {"from": since or "", "to": until or ""},
            "one_visit": charts.stacked_rows(
                percent_rows(report.items, lambda i: i.one_visit_rate), ["share"]
            ),
            "pulled": charts.stacked_rows(
                percent_rows(report.items, lambda i: i.materials.pulled_share), ["share"]
            ),
            "uptime": charts.stacked_rows(
                percent_rows(report.items, lambda i: i.connectors.availability), ["share"]
            ),
        },
        status=422 if errors else 200,
    )
