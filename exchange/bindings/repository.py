"""Connector binding queries (SQLAlchemy 2 ``select()`` only here)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.bindings.models import ConnectorBinding, ConnectorCheck


def by_resource_id(session: Session, resource_id: int) -> ConnectorBinding | None:
    """Return the binding of the resource, or None."""
    query = select(ConnectorBinding).where(ConnectorBinding.resource_id == resource_id)
    return session.scalars(query).first()


def by_code(session: Session, code: str) -> ConnectorBinding | None:
    """Return the binding of the resource with 资源代码 ``code``, or None."""
    query = select(ConnectorBinding).join(Resource).where(Resource.code == code)
    return session.scalars(query).first()


def is_bound(session: Session, code: str) -> bool:
    """Return whether an enabled binding exists for the resource with ``code``."""
    query = (
        select(ConnectorBinding.id)
        .join(Resource)
        .where(Resource.code == code, ConnectorBinding.enabled.is_(True))
    )
    return session.scalar(query) is not None


def page(
    session: Session, *, provider_id: int | None, offset: int, limit: int
) -> tuple[list[ConnectorBinding], int]:
    """Return one page of bindings ordered by resource code, and the total."""
    query = select(ConnectorBinding).join(Resource)
    if provider_id is not None:
        query = query.where(Resource.provider_id == provider_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Resource.code).offset(offset).limit(limit)).all()
    return list(rows), total


def provider_id(session: Session, code: str) -> int | None:
    """Return the id of the department with ``code``."""
    return session.scalar(select(Department.id).where(Department.code == code))


def last_checks(session: Session, binding_ids: list[int]) -> dict[int, ConnectorCheck]:
    """Return the newest check of each binding in ``binding_ids``."""
    if not binding_ids:
        return {}
    newest = (
        select(func.max(ConnectorCheck.id))
        .where(ConnectorCheck.binding_id.in_(binding_ids))
        .group_by(ConnectorCheck.binding_id)
    )
    rows = session.scalars(select(ConnectorCheck).where(ConnectorCheck.id.in_(newest)))
    return {row.binding_id: row for row in rows}


def checks(
    session: Session, binding_id: int, *, offset: int, limit: int
) -> tuple[list[ConnectorCheck], int]:
    """Return one page of a binding's checks, newest first, and the total."""
    where = ConnectorCheck.binding_id == binding_id
    total = session.scalar(select(func.count()).where(where)) or 0
    query = select(ConnectorCheck).where(where).order_by(ConnectorCheck.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit))), total
