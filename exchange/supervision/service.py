"""The supervision report (督察评估): is "最多跑一次" realised, per one-thing and department?

For a range of China civil days: applications accepted and completed; the realisation
rate (completed with at most one applicant visit ÷ completed); the share of materials
pulled rather than brought; handling time p50/p95 (acceptance → completion); grant
requests and data objections overdue on the range's last day (still open now); and
connector availability (successful health checks ÷ checks). A department's line covers
the applications it handles as window or back office, the requests and objections it
must answer as provider, and the connectors of the resources it provides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from catalogs.departments import repository as departments_repo
from exchange.core.errors import InvalidInput
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.identity.scope import is_global, require_read
from exchange.supervision import repository as repo
from exchange.supervision import rules
from exchange.supervision.repository import BindingChecks, Dimension
from exchange.supervision.schemas import (
    BindingAvailability,
    Connectors,
    DepartmentFigures,
    DepartmentReport,
    Figures,
    Handling,
    Materials,
    OneThingFigures,
    OneThingReport,
    Parts,
)

OBJECT = "supervision"  # casbin object: read


def scope(
    session: Session, *, principal: Principal, authz: Authorizer, department: str | None
) -> str | None:
    """Return the department a report is limited to (None: the whole province).

    A province admin or auditor sees every department unless one is named; a department's
    administrator sees its own only (another → 403).
    """
    code = department or (None if is_global(principal) else principal.department)
    if code is None:
        return None
    require_read(principal, authz, OBJECT, "supervision figures", code)
    return known_department(session, code)


def known_department(session: Session, code: str) -> str:
    """Return ``code`` if such a department exists; 422 naming it otherwise."""
    if departments_repo.by_code(session, code) is None:
        message = f"no department {code}"
        raise InvalidInput(message, errors=[rules.problem("department", message)])
    return code


@dataclass(frozen=True)
class _Range:
    since: date
    until: date
    as_of: date
    start: datetime
    end: datetime


def _range(since: date | None, until: date | None, today: date) -> _Range:
    first, last = rules.date_range(since, until, today=today)
    start, end = rules.bounds(first, last)
    return _Range(first, last, rules.as_of(last, today), start, end)


@dataclass(frozen=True)
class _Aggregates:
    accepted: dict[str, int]
    completed: dict[str, tuple[int, int]]
    durations: dict[str, list[float]]
    materials: dict[str, dict[str, int]]
    objections: dict[str, int]


def _aggregates(session: Session, by: Dimension, r: _Range) -> _Aggregates:
    return _Aggregates(
        accepted=repo.accepted_counts(session, by, r.start, r.end),
        completed=repo.completed_counts(session, by, r.start, r.end),
        durations=repo.handling_seconds(session, by, r.start, r.end),
        materials=repo.material_counts(session, by, r.start, r.end),
        objections=repo.overdue_objections(session, by, as_of=r.as_of, end=r.end),
    )


def _connectors(checks: Iterable[BindingChecks]) -> Connectors:
    bindings = [
        BindingAvailability(
            resource=c.resource,
            department=c.department,
            checks=c.checks,
            ok=c.ok,
            availability=rules.share(c.ok, c.checks),
        )
        for c in checks
    ]
    total, ok = sum(b.checks for b in bindings), sum(b.ok for b in bindings)
    return Connectors(checks=total, ok=ok, availability=rules.share(ok, total), bindings=bindings)


def _figures(
    code: str, agg: _Aggregates, *, overdue_grants: int, connectors: Connectors
) -> Figures:
    done, one_trip = agg.completed.get(code, (0, 0))
    durations = agg.durations.get(code, [])
    counts = agg.materials.get(code, {})
    return Figures(
        applications=agg.accepted.get(code, 0),
        completed=done,
        completed_within_one_visit=one_trip,
        one_visit_rate=rules.share(one_trip, done),
        materials=Materials(
            **{s: n for s, n in counts.items() if s in Materials.model_fields},
            pulled_share=rules.pulled_share(counts),
        ),
        handling=Handling(
            completed=len(durations),
            p50_seconds=rules.percentile(durations, 50),
            p95_seconds=rules.percentile(durations, 95),
        ),
        overdue_grant_requests=overdue_grants,
        overdue_objections=agg.objections.get(code, 0),
        connectors=connectors,
    )


def one_thing_report(
    session: Session,
    *,
    since: date | None,
    until: date | None,
    today: date,
    department: str | None = None,
) -> OneThingReport:
    """Report per one-thing (those ``department`` takes part in, when given)."""
    r = _range(since, until, today)
    agg = _aggregates(session, "one_thing", r)
    grants = repo.overdue_grants(session, as_of=r.as_of, end=r.end)
    checks = repo.binding_checks(session, r.start, r.end)
    resources = repo.one_thing_resources(session)
    items = []
    for thing in repo.one_things(session):
        if department is not None and department not in thing.departments:
            continue
        purposes = rules.one_thing_purposes(thing.code, thing.service_items)
        used = resources.get(thing.code, set())
        figures = _figures(
            thing.code,
            agg,
            overdue_grants=sum(1 for g in grants if purposes & set(g.purposes)),
            connectors=_connectors(c for c in checks if c.resource in used),
        )
        items.append(
            OneThingFigures(
                code=thing.code,
                name=thing.name,
                lead_department=thing.lead_department,
                **figures.model_dump(),
            )
        )
    return OneThingReport(since=r.since, until=r.until, as_of=r.as_of, items=items)


def department_report(
    session: Session,
    *,
    since: date | None,
    until: date | None,
    today: date,
    department: str | None = None,
) -> DepartmentReport:
    """Report per department (only ``department``, when given)."""
    r = _range(since, until, today)
    agg = _aggregates(session, "department", r)
    grants = repo.overdue_grants(session, as_of=r.as_of, end=r.end)
    checks = repo.binding_checks(session, r.start, r.end)
    parts = repo.part_counts(session, r.start, r.end)
    codes = [department] if department is not None else None
    items = []
    for code, name in repo.departments(session, codes):
        figures = _figures(
            code,
            agg,
            overdue_grants=sum(1 for g in grants if g.provider == code),
            connectors=_connectors(c for c in checks if c.department == code),
        )
        items.append(
            DepartmentFigures(
                code=code,
                name=name,
                parts=Parts(**parts.get(code, {})),
                **figures.model_dump(),
            )
        )
    return DepartmentReport(since=r.since, until=r.until, as_of=r.as_of, items=items)
