"""Objection queries (SQLAlchemy 2 ``select()`` only here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.audit.models import AuditEntry
from exchange.core.pagination import page_of
from exchange.objections import rules
from exchange.objections.models import DataObjection, ObjectionEvent


def objection_by_id(
    session: Session, objection_id: int, *, for_update: bool = False
) -> DataObjection | None:
    """Return the objection with ``objection_id``; locked (and re-read) when ``for_update``."""
    query = select(DataObjection).where(DataObjection.id == objection_id)
    if for_update:
        # FOR NO KEY UPDATE, as for grants: event rows' foreign keys take KEY SHARE locks.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    return session.scalars(query).first()


def events_of(session: Session, objection_id: int) -> Sequence[ObjectionEvent]:
    """Return an objection's events, oldest first."""
    query = select(ObjectionEvent).where(ObjectionEvent.objection_id == objection_id)
    return session.scalars(query.order_by(ObjectionEvent.at, ObjectionEvent.id)).all()


def department_by_code(session: Session, code: str) -> Department | None:
    """Return the department with ``code``, if any."""
    return session.scalars(select(Department).where(Department.code == code)).first()


def resource_by_code(session: Session, code: str) -> Resource | None:
    """Return the catalogue resource with ``code``, if any."""
    return session.scalars(select(Resource).where(Resource.code == code)).first()


def audit_entry(session: Session, seq: int) -> AuditEntry | None:
    """Return the access-log entry ``seq``, if any."""
    return session.get(AuditEntry, seq)


def open_duplicate(
    session: Session, *, resource_id: int, subject_key: str, raised_by: str, items: list[str]
) -> DataObjection | None:
    """Return an open objection by the same raiser to the same record sharing an item."""
    query = select(DataObjection).where(
        DataObjection.resource_id == resource_id,
        DataObjection.subject_key == subject_key,
        DataObjection.raised_by == raised_by,
        DataObjection.status == rules.OPEN,
    )
    wanted = set(items)
    return next((o for o in session.scalars(query) if wanted & set(o.items)), None)


@dataclass(frozen=True, kw_only=True)
class ObjectionFilter:
    """Which objections a list shows; each field given narrows it."""

    provider_id: int | None = None
    raiser_department_id: int | None = None
    either_department_id: int | None = None
    status: str | None = None
    overdue: bool = False
    escalated: bool | None = None
    resource_id: int | None = None
    source: str | None = None
    raised_by_department: bool = False  # only those a department raised
    # A citizen's own: raised from the tracker about this key.
    citizen_key: str | None = None


def _conditions(f: ObjectionFilter, today: date) -> list[ColumnElement[bool]]:
    c: list[ColumnElement[bool]] = []
    if f.provider_id is not None:
        c.append(DataObjection.provider_id == f.provider_id)
    if f.raiser_department_id is not None:
        c.append(DataObjection.raiser_department_id == f.raiser_department_id)
    if f.either_department_id is not None:
        c.append(
            or_(
                DataObjection.provider_id == f.either_department_id,
                DataObjection.raiser_department_id == f.either_department_id,
            )
        )
    if f.status is not None:
        c.append(DataObjection.status == f.status)
    if f.overdue:
        c += [DataObjection.status == rules.OPEN, DataObjection.due_on < today]
    if f.escalated is not None:
        c.append(
            DataObjection.escalated_at.is_not(None)
            if f.escalated
            else DataObjection.escalated_at.is_(None)
        )
    if f.resource_id is not None:
        c.append(DataObjection.resource_id == f.resource_id)
    if f.source is not None:
        c.append(DataObjection.source == f.source)
    if f.raised_by_department:
        c.append(DataObjection.raiser_department_id.is_not(None))
    if f.citizen_key is not None:
        c += [DataObjection.source == "tracker", DataObjection.subject_key == f.citizen_key]
    return c


def list_objections(
    session: Session, f: ObjectionFilter, *, today: date, offset: int, limit: int
) -> tuple[Sequence[DataObjection], int]:
    """Return one page of objections, newest first, and the total."""
    query = select(DataObjection).where(*_conditions(f, today))
    order = (DataObjection.raised_at.desc(), DataObjection.id.desc())
    return page_of(session, query, order=order, offset=offset, limit=limit)


def to_escalate(session: Session, today: date) -> Sequence[DataObjection]:
    """Return the open objections past their deadline not yet escalated, locked."""
    query = select(DataObjection).where(
        DataObjection.status == rules.OPEN,
        DataObjection.due_on < today,
        DataObjection.escalated_at.is_(None),
    )
    return session.scalars(query.order_by(DataObjection.id).with_for_update(key_share=True)).all()
