"""Queries of the record-pull path (SQLAlchemy 2 ``select()`` only here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.onethings.models import OneThing, ServiceItem
from catalogs.resources.models import Resource
from exchange.bindings.models import ConnectorBinding


def resource_by_code(session: Session, code: str) -> Resource | None:
    """Return the catalogue entry with ``code`` (provider and items loaded), or None."""
    return session.scalars(select(Resource).where(Resource.code == code)).first()


def binding_key_item(session: Session, resource_id: int) -> str | None:
    """Return the lookup key item of the resource's connector binding, if it has one."""
    return session.scalar(
        select(ConnectorBinding.key_item).where(ConnectorBinding.resource_id == resource_id)
    )


def purpose_exists(session: Session, code: str) -> bool:
    """Return whether ``code`` is a service item (办事事项) or a one-thing (一件事)."""
    if session.scalar(select(ServiceItem.id).where(ServiceItem.code == code)) is not None:
        return True
    return session.scalar(select(OneThing.id).where(OneThing.code == code)) is not None
