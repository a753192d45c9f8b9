"""Queries for the DCAT export: the published catalogue entries only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource

EXPORTED_STATUS = "published"


def published_resources(session: Session) -> Sequence[Resource]:
    """Return every published entry with its provider and items, ordered by code."""
    query = select(Resource).where(Resource.status == EXPORTED_STATUS).order_by(Resource.code)
    return session.scalars(query).all()


def published_resource(session: Session, code: str) -> Resource | None:
    """Return the published entry with ``code``, or None."""
    query = select(Resource).where(Resource.code == code, Resource.status == EXPORTED_STATUS)
    return session.scalars(query).first()
