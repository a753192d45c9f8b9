"""Queries of the supervision report: aggregates in SQL, grouped by one-thing or department.

``Dimension`` says how applications are grouped: by their one-thing, or by every
department involved in them (the window department and each department holding a part).
Times are [start, end) UTC instants; counts come back keyed by the group's code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, case, distinct, func, select, union
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.onethings.models import Material, OneThing, ServiceItem, one_thing_service_items
from catalogs.resources.models import Resource
from exchange.applications.models import Application, ApplicationMaterial, ApplicationPart
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.grants.models import Grant
from exchange.objections.models import DataObjection

Dimension = Literal["one_thing", "department"]


def _involvement() -> Any:
    """(application_id, department): the window department and each part's department."""
    window = select(
        Application.id.label("application_id"), Application.window_department.label("department")
    )
    parts = select(ApplicationPart.application_id, ApplicationPart.department)
    return union(window, parts).subquery("involvement")


def _grouped(by: Dimension, *columns: Any) -> tuple[Select[Any], Any]:
    """Return ``select(key, *columns)`` over applications, and the key column to group by."""
    if by == "one_thing":
        key = Application.one_thing_code
        return select(key, *columns).select_from(Application), key
    inv = _involvement()
    key = inv.c.department
    query = (
        select(key, *columns)
        .select_from(Application)
        .join(inv, inv.c.application_id == Application.id)
    )
    return query, key


def _between(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return (column >= start) & (column < end)


def accepted_counts(
    session: Session, by: Dimension, start: datetime, end: datetime
) -> dict[str, int]:
    """Return how many applications were accepted in the range, per group."""
    query, key = _grouped(by, func.count(distinct(Application.id)))
    rows = session.execute(query.where(_between(Application.accepted_at, start, end)).group_by(key))
    return {code: count for code, count in rows}


def completed_counts(
    session: Session, by: Dimension, start: datetime, end: datetime
) -> dict[str, tuple[int, int]]:
    """Return (completed in the range, of which with at most one visit), per group."""
    one_trip = func.sum(case((Application.visits <= 1, 1), else_=0))
    query, key = _grouped(by, func.count(distinct(Application.id)), one_trip)
    rows = session.execute(
        query.where(
            Application.status == "completed", _between(Application.completed_at, start, end)
        ).group_by(key)
    )
    return {code: (int(done), int(trips or 0)) for code, done, trips in rows}


def handling_seconds(
    session: Session, by: Dimension, start: datetime, end: datetime
) -> dict[str, list[float]]:
    """Return the acceptance → completion durations of applications completed in the range."""
    query, _key = _grouped(by, Application.accepted_at, Application.completed_at)
    rows = session.execute(
        query.where(
            Application.status == "completed", _between(Application.completed_at, start, end)
        )
    )
    found: dict[str, list[float]] = defaultdict(list)
    for code, accepted, completed in rows:
        found[code].append((completed - accepted).total_seconds())
    return dict(found)


def material_counts(
    session: Session, by: Dimension, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Return material counts by status for applications accepted in the range, per group."""
    query, key = _grouped(by, ApplicationMaterial.status, func.count(ApplicationMaterial.id))
    rows = session.execute(
        query.join(ApplicationMaterial, ApplicationMaterial.application_id == Application.id)
        .where(_between(Application.accepted_at, start, end))
        .group_by(key, ApplicationMaterial.status)
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for code, status, count in rows:
        found[code][status] = count
    return dict(found)


def part_counts(session: Session, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Return per department: parts decided in the range by decision, and pending now."""
    decided = session.execute(
        select(ApplicationPart.department, ApplicationPart.status, func.count())
        .where(_between(ApplicationPart.decided_at, start, end))
        .group_by(ApplicationPart.department, ApplicationPart.status)
    )
    pending = session.execute(
        select(ApplicationPart.department, func.count())
        .join(Application, Application.id == ApplicationPart.application_id)
        .where(ApplicationPart.status == "pending", Application.status == "in_review")
        .group_by(ApplicationPart.department)
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for code, status, count in decided:
        found[code][status] = count
    for code, count in pending:
        found[code]["pending"] = count
    return dict(found)


@dataclass(frozen=True)
class OverdueGrant:
    """A grant request still pending past its due date."""

    id: int
    provider: str
    purposes: tuple[str, ...]


def overdue_grants(session: Session, *, as_of: date, end: datetime) -> list[OverdueGrant]:
    """Return grant requests still pending, requested before ``end``, due before ``as_of``."""
    rows = session.execute(
        select(Grant.id, Department.code, Grant.purposes)
        .join(Resource, Resource.id == Grant.resource_id)
        .join(Department, Department.id == Resource.provider_id)
        .where(Grant.status == "pending", Grant.due_on < as_of, Grant.requested_at < end)
    )
    return [OverdueGrant(i, code, tuple(purposes or ())) for i, code, purposes in rows]


def overdue_objections(
    session: Session, by: Dimension, *, as_of: date, end: datetime
) -> dict[str, int]:
    """Return open objections past their due date, per provider or per one-thing of the case."""
    late = (
        DataObjection.status == "open",
        DataObjection.due_on < as_of,
        DataObjection.raised_at < end,
    )
    if by == "department":
        query = (
            select(Department.code, func.count(DataObjection.id))
            .join(Department, Department.id == DataObjection.provider_id)
            .where(*late)
            .group_by(Department.code)
        )
    else:
        # An objection the hub opened on a conflict carries the application number as case.
        query = (
            select(Application.one_thing_code, func.count(DataObjection.id))
            .join(Application, Application.number == DataObjection.case_id)
            .where(*late)
            .group_by(Application.one_thing_code)
        )
    return {code: count for code, count in session.execute(query)}


@dataclass(frozen=True)
class BindingChecks:
    """The health checks of one connector binding in the range."""

    binding_id: int
    resource: str
    department: str
    checks: int
    ok: int


def binding_checks(session: Session, start: datetime, end: datetime) -> list[BindingChecks]:
    """Return each binding's health checks in the range (count and successes)."""
    ok = func.sum(case((ConnectorCheck.ok, 1), else_=0))
    rows = session.execute(
        select(ConnectorBinding.id, Resource.code, Department.code, func.count(), ok)
        .join(ConnectorCheck, ConnectorCheck.binding_id == ConnectorBinding.id)
        .join(Resource, Resource.id == ConnectorBinding.resource_id)
        .join(Department, Department.id == Resource.provider_id)
        .where(_between(ConnectorCheck.at, start, end))
        .group_by(ConnectorBinding.id, Resource.code, Department.code)
        .order_by(Resource.code)
    )
    return [BindingChecks(b, r, d, int(n), int(k or 0)) for b, r, d, n, k in rows]


def one_thing_resources(session: Session) -> dict[str, set[str]]:
    """Return the resource codes each one-thing's pullable materials come from."""
    rows = session.execute(
        select(OneThing.code, Material.resource_code)
        .join(Material, Material.one_thing_id == OneThing.id)
        .where(Material.kind == "pullable", Material.resource_code.is_not(None))
    )
    found: dict[str, set[str]] = defaultdict(set)
    for code, resource in rows:
        if resource is not None:
            found[code].add(resource)
    return dict(found)


@dataclass(frozen=True)
class OneThingRow:
    """A one-thing with its lead department and service items."""

    code: str
    name: str
    lead_department: str
    service_items: tuple[str, ...]
    departments: frozenset[str]


def one_things(session: Session) -> list[OneThingRow]:
    """Return every one-thing with its lead department and its service items' departments."""
    heads = session.execute(
        select(OneThing.id, OneThing.code, OneThing.name, Department.code)
        .join(Department, Department.id == OneThing.lead_department_id)
        .order_by(OneThing.code)
    ).all()
    items: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for one_thing_id, item, department in session.execute(
        select(one_thing_service_items.c.one_thing_id, ServiceItem.code, Department.code)
        .join(ServiceItem, ServiceItem.id == one_thing_service_items.c.service_item_id)
        .join(Department, Department.id == ServiceItem.department_id)
    ):
        items[one_thing_id].append((item, department))
    return [
        OneThingRow(
            code=code,
            name=name,
            lead_department=lead,
            service_items=tuple(sorted(i for i, _ in items[oid])),
            departments=frozenset({lead, *(d for _, d in items[oid])}),
        )
        for oid, code, name, lead in heads
    ]


def departments(session: Session, codes: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Return (code, name) of every department, or of those among ``codes``, by code."""
    query = select(Department.code, Department.name).order_by(Department.code)
    if codes is not None:
        query = query.where(Department.code.in_(codes))
    return [(code, name) for code, name in session.execute(query)]
