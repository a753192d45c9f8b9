"""Catalogue entry queries (SQLAlchemy 2 ``select()`` only here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource, ResourceVersion
from catalogs.resources.rules import PUBLIC_STATUSES


@dataclass(frozen=True)
class Visibility:
    """Which entries a reader sees: all of them, or the public ones plus one provider's."""

    everything: bool = False
    own_provider_id: int | None = None

    def clause(self) -> ColumnElement[bool]:
        """Return the SQL condition selecting the visible entries."""
        if self.everything:
            return true()
        public = Resource.status.in_(PUBLIC_STATUSES)
        if self.own_provider_id is None:
            return public
        return or_(public, Resource.provider_id == self.own_provider_id)


@dataclass(frozen=True)
class SearchFilter:
    """What a catalogue search asks for; None means "any"."""

    text: str | None = None  # already lower-cased
    provider_id: int | None = None
    share_type: str | None = None
    update_cycle: str | None = None
    status: str | None = None


def by_code(session: Session, code: str, *, for_update: bool = False) -> Resource | None:
    """Return the entry with ``code`` (locked for update when asked), or None."""
    query = select(Resource).where(Resource.code == code)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def code_exists(session: Session, code: str) -> bool:
    """Return whether an entry with ``code`` exists."""
    return session.scalar(select(Resource.id).where(Resource.code == code)) is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(visible: Visibility, f: SearchFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [visible.clause()]
    if f.text:
        # search_text is stored lower-cased, so a plain LIKE is case-insensitive on every
        # backend. No index serves '%…%' (pg_trgm cannot help two-character Chinese terms
        # such as 户籍); at 10,000 entries the scan costs about 10 ms.
        conditions.append(Resource.search_text.like(f"%{_escape_like(f.text)}%", escape="\\"))
    if f.provider_id is not None:
        conditions.append(Resource.provider_id == f.provider_id)
    if f.share_type:
        conditions.append(Resource.share_type == f.share_type)
    if f.update_cycle:
        conditions.append(Resource.update_cycle == f.update_cycle)
    if f.status:
        conditions.append(Resource.status == f.status)
    return and_(*conditions)


def search(
    session: Session, visible: Visibility, f: SearchFilter, *, offset: int, limit: int
) -> tuple[list[Resource], int]:
    """Return one page of matching entries ordered by code, and the total number of matches."""
    if f.text:
        # A text filter reads every candidate row (no index serves LIKE '%…%'), so count
        # the matches in that same pass instead of scanning twice.
        counted = select(Resource.id, func.count().over())
        page = counted.where(_where(visible, f)).order_by(Resource.code).offset(offset).limit(limit)
        rows = session.execute(page).all()
        if rows or offset == 0:
            return _load(session, [row[0] for row in rows]), rows[0][1] if rows else 0
    # Without text, ix_resources_status_code answers the usual (visibility-only) count and
    # page from the index alone, already in code order.
    total = session.scalar(select(func.count(Resource.id)).where(_where(visible, f))) or 0
    if total <= offset:
        return [], total
    ids = select(Resource.id).where(_where(visible, f)).order_by(Resource.code)
    return _load(session, list(session.scalars(ids.offset(offset).limit(limit)))), total


def _load(session: Session, ids: list[int]) -> list[Resource]:
    if not ids:
        return []
    query = select(Resource).where(Resource.id.in_(ids)).order_by(Resource.code)
    return list(session.scalars(query))


def versions(session: Session, resource_id: int) -> list[ResourceVersion]:
    """Return a resource's version history, oldest first."""
    query = select(ResourceVersion).where(ResourceVersion.resource_id == resource_id)
    return list(session.scalars(query.order_by(ResourceVersion.id)))
