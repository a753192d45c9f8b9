"""Grant queries (SQLAlchemy 2 ``select()`` only here).

Expiry and lapse are decided by date in every query, so nothing depends on the sweep having
recorded them: an approved row whose end date has passed is treated as expired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.onethings.models import OneThing, ServiceItem
from catalogs.resources.models import Resource
from exchange.core.pagination import page_of
from exchange.grants import rules
from exchange.grants.models import Grant, GrantEvent
from exchange.identity.models import System


def grant_by_id(session: Session, grant_id: int, *, for_update: bool = False) -> Grant | None:
    """Return the grant with ``grant_id``; locked (and re-read) when ``for_update``."""
    query = select(Grant).where(Grant.id == grant_id)
    if for_update:
        # FOR NO KEY UPDATE: a concurrent denied-attempt event (its own transaction) takes a
        # KEY SHARE lock on this row through its foreign key, which FOR UPDATE would block.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    return session.scalars(query).first()


def events_of(session: Session, grant_id: int) -> Sequence[GrantEvent]:
    """Return a grant's events, oldest first."""
    query = select(GrantEvent).where(GrantEvent.grant_id == grant_id)
    return session.scalars(query.order_by(GrantEvent.at, GrantEvent.id)).all()


def department_by_code(session: Session, code: str) -> Department | None:
    """Return the department with ``code``, if any."""
    return session.scalars(select(Department).where(Department.code == code)).first()


def system_by_client_id(session: Session, client_id: str) -> System | None:
    """Return the system registered as ``client_id``, if any."""
    return session.scalars(select(System).where(System.client_id == client_id)).first()


def resource_by_code(session: Session, code: str) -> Resource | None:
    """Return the catalogue resource with ``code``, if any."""
    return session.scalars(select(Resource).where(Resource.code == code)).first()


def known_purposes(session: Session, codes: Iterable[str]) -> set[str]:
    """Return which of ``codes`` are service items (办事事项) or one-things (一件事)."""
    wanted = set(codes)
    if not wanted:
        return set()
    items = session.scalars(select(ServiceItem.code).where(ServiceItem.code.in_(wanted)))
    things = session.scalars(select(OneThing.code).where(OneThing.code.in_(wanted)))
    return set(items) | set(things)


def _live(today: date) -> ColumnElement[bool]:
    """Approved, not ended and not lapsed on ``today`` (it may not have started yet)."""
    return and_(
        Grant.status == rules.APPROVED,
        Grant.ends_on >= today,
        Grant.certified_on >= rules.lapse_cutoff(today),
    )


def _in_force(today: date) -> ColumnElement[bool]:
    return and_(_live(today), Grant.starts_on <= today)


def status_clause(status: str, today: date) -> ColumnElement[bool]:
    """Return the condition selecting grants whose status on ``today`` is ``status``."""
    approved = Grant.status == rules.APPROVED
    if status == rules.APPROVED:
        return _live(today)
    if status == rules.EXPIRED:
        return or_(Grant.status == rules.EXPIRED, and_(approved, Grant.ends_on < today))
    if status == rules.LAPSED:
        stale = and_(
            approved, Grant.ends_on >= today, Grant.certified_on < rules.lapse_cutoff(today)
        )
        return or_(Grant.status == rules.LAPSED, stale)
    return Grant.status == status


def consumer_grants(
    session: Session, *, department_id: int, resource_id: int, statuses: Sequence[str]
) -> Sequence[Grant]:
    """Return the grants of a consumer department (and its systems) on one resource."""
    query = select(Grant).where(
        Grant.consumer_department_id == department_id,
        Grant.resource_id == resource_id,
        Grant.status.in_(statuses),
    )
    return session.scalars(query.order_by(Grant.id)).all()


def grants_in_force(
    session: Session, *, department_id: int, resource_id: int, today: date
) -> Sequence[Grant]:
    """Return the grants of a department (or its systems) on a resource in force ``today``."""
    query = select(Grant).where(
        Grant.consumer_department_id == department_id,
        Grant.resource_id == resource_id,
        _in_force(today),
    )
    return session.scalars(query.order_by(Grant.id)).all()


def grants_in_force_by_codes(
    session: Session, *, consumer: str, resource_code: str, today: date
) -> Sequence[Grant]:
    """Return the grants in force ``today`` of department ``consumer`` on ``resource_code``."""
    query = (
        select(Grant)
        .join(Department, Grant.consumer_department_id == Department.id)
        .join(Resource, Grant.resource_id == Resource.id)
        .where(Department.code == consumer, Resource.code == resource_code, _in_force(today))
    )
    return session.scalars(query).all()


@dataclass(frozen=True)
class GrantFilter:
    """What a grant list asks for; None means "any"."""

    consumer_department_id: int | None = None
    provider_department_id: int | None = None
    either_department_id: int | None = None  # consumer or provider
    consumer_system_id: int | None = None
    status: str | None = None
    overdue: bool = False
    expiring_within_days: int | None = None


def _filtered(f: GrantFilter, today: date) -> Select[Grant]:
    query = select(Grant).join(Resource, Grant.resource_id == Resource.id)
    conditions: list[ColumnElement[bool]] = [true()]
    if f.consumer_department_id is not None:
        conditions.append(Grant.consumer_department_id == f.consumer_department_id)
    if f.provider_department_id is not None:
        conditions.append(Resource.provider_id == f.provider_department_id)
    if f.either_department_id is not None:
        conditions.append(
            or_(
                Grant.consumer_department_id == f.either_department_id,
                Resource.provider_id == f.either_department_id,
            )
        )
    if f.consumer_system_id is not None:
        conditions.append(Grant.consumer_system_id == f.consumer_system_id)
    if f.status is not None:
        conditions.append(status_clause(f.status, today))
    if f.overdue:
        conditions.append(and_(Grant.status == rules.PENDING, Grant.due_on < today))
    if f.expiring_within_days is not None:
        horizon = today + timedelta(days=f.expiring_within_days)
        conditions.append(and_(_live(today), Grant.ends_on <= horizon))
    return query.where(and_(*conditions))


def list_grants(
    session: Session, f: GrantFilter, *, today: date, offset: int, limit: int
) -> tuple[Sequence[Grant], int]:
    """Return one page of grants matching ``f`` and the total that match.

    Overdue lists put the longest-waiting first; expiring lists the soonest to end; other
    lists the newest request first.
    """
    order: tuple[ColumnElement[Any], ...]
    if f.overdue:
        order = (Grant.due_on.asc(), Grant.id.asc())
    elif f.expiring_within_days is not None:
        order = (Grant.ends_on.asc(), Grant.id.asc())
    else:
        order = (Grant.requested_at.desc(), Grant.id.desc())
    return page_of(session, _filtered(f, today), order=order, offset=offset, limit=limit)


def resource_permissions(
    session: Session, *, resource_id: int, today: date, offset: int, limit: int
) -> tuple[Sequence[Grant], int]:
    """Return one page of a resource's approved grants not yet ended, and their number."""
    query = select(Grant).where(Grant.resource_id == resource_id, _live(today))
    return page_of(session, query, order=(Grant.id,), offset=offset, limit=limit)


def system_permissions(
    session: Session, *, system: System, today: date, offset: int, limit: int
) -> tuple[Sequence[Grant], int]:
    """Return one page of what a system may read (its own and its department's grants)."""
    mine = or_(
        Grant.consumer_system_id == system.id,
        and_(
            Grant.consumer_system_id.is_(None),
            Grant.consumer_department_id == system.department_id,
        ),
    )
    query = select(Grant).where(mine, _live(today))
    return page_of(session, query, order=(Grant.id,), offset=offset, limit=limit)


def to_expire(session: Session, today: date) -> Sequence[Grant]:
    """Return the approved grants whose end date has passed, locked for the sweep."""
    query = select(Grant).where(Grant.status == rules.APPROVED, Grant.ends_on < today)
    return session.scalars(query.order_by(Grant.id).with_for_update(key_share=True)).all()


def to_lapse(session: Session, today: date) -> Sequence[Grant]:
    """Return the approved grants not re-certified within a year, locked for the sweep."""
    query = select(Grant).where(
        Grant.status == rules.APPROVED,
        Grant.ends_on >= today,
        Grant.certified_on < rules.lapse_cutoff(today),
    )
    return session.scalars(query.order_by(Grant.id).with_for_update(key_share=True)).all()


def to_escalate(session: Session, today: date) -> Sequence[Grant]:
    """Return the pending requests past their due date not yet escalated, locked."""
    query = select(Grant).where(
        Grant.status == rules.PENDING, Grant.due_on < today, Grant.escalated_at.is_(None)
    )
    return session.scalars(query.order_by(Grant.id).with_for_update(key_share=True)).all()
