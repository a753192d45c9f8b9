"""Queries for service items, one-things and what their materials point at."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.onethings.models import OneThing, ServiceItem
from catalogs.resources.models import Resource


def department_by_code(session: Session, code: str) -> Department | None:
    """Return the department with ``code``, if any."""
    return session.scalars(select(Department).where(Department.code == code)).first()


def service_item_by_code(session: Session, code: str) -> ServiceItem | None:
    """Return the service item with ``code``, if any."""
    return session.scalars(select(ServiceItem).where(ServiceItem.code == code)).first()


def service_items_by_codes(session: Session, codes: Iterable[str]) -> dict[str, ServiceItem]:
    """Return the service items among ``codes``, keyed by code."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.scalars(select(ServiceItem).where(ServiceItem.code.in_(wanted)))
    return {row.code: row for row in rows}


def list_service_items(
    session: Session, *, department: str | None, offset: int, limit: int
) -> tuple[list[ServiceItem], int]:
    """Return one page of service items (optionally of one department) and the total."""
    query = select(ServiceItem)
    if department is not None:
        query = query.join(Department, ServiceItem.department_id == Department.id).where(
            Department.code == department
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ServiceItem.code).offset(offset).limit(limit))
    return list(rows), total


def one_thing_by_code(session: Session, code: str) -> OneThing | None:
    """Return the one-thing with ``code``, if any."""
    return session.scalars(select(OneThing).where(OneThing.code == code)).first()


def list_one_things(
    session: Session, *, lead_department: str | None, offset: int, limit: int
) -> tuple[list[OneThing], int]:
    """Return one page of one-things (optionally led by one department) and the total."""
    query = select(OneThing)
    if lead_department is not None:
        query = query.join(Department, OneThing.lead_department_id == Department.id).where(
            Department.code == lead_department
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(OneThing.code).offset(offset).limit(limit))
    return list(rows), total


def resources_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Resource]:
    """Return the catalogue resources among ``codes``, keyed by code, with their items."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.scalars(select(Resource).where(Resource.code.in_(wanted)))
    return {row.code: row for row in rows}
