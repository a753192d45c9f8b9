"""HTTP routes of the supervision report (督察评估) for the province and departments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from exchange.core.deps import DbSession
from exchange.grants.schemas import DEPARTMENT_CODE
from exchange.grants.service import china_today
from exchange.identity.deps import Authz, CurrentPrincipal
from exchange.supervision import service
from exchange.supervision.schemas import DepartmentReport, OneThingReport

router = APIRouter(prefix="/v1/supervision", tags=["supervision"])

Since = Annotated[
    date | None, Query(alias="from", description="first day (China), default 30 days ago")
]
Until = Annotated[date | None, Query(alias="to", description="last day (China), default today")]
DepartmentCode = Annotated[
    str | None, Query(pattern=DEPARTMENT_CODE, description="one department (default: yours)")
]


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: the days (None: the default) and the department (None: all)."""

    since: date | None
    until: date | None
    today: date
    department: str | None


def report_scope(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    since: Since = None,
    until: Until = None,
    department: DepartmentCode = None,
) -> ReportScope:
    """Read a report's query and check the caller may see the department it names."""
    code = service.scope(session, principal=principal, authz=authz, department=department)
    return ReportScope(since=since, until=until, today=china_today(), department=code)


Scope = Annotated[ReportScope, Depends(report_scope)]


@router.get("/one-things", response_model_by_alias=True)
def one_things(session: DbSession, scope: Scope) -> OneThingReport:
    """Report per one-thing: 最多跑一次 rate, materials pulled, handling time, overdue, uptime."""
    return service.one_thing_report(
        session,
        since=scope.since,
        until=scope.until,
        today=scope.today,
        department=scope.department,
    )


@router.get("/departments", response_model_by_alias=True)
def departments(session: DbSession, scope: Scope) -> DepartmentReport:
    """Report per department: its applications, parts, overdue answers and connectors."""
    return service.department_report(
        session,
        since=scope.since,
        until=scope.until,
        today=scope.today,
        department=scope.department,
    )
