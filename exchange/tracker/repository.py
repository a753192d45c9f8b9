"""Tracker queries: a citizen's access-log entries and the names that make them readable.

The entries are read through the access log's own search (``exchange.audit.repository``);
the names (departments, systems, resources and their items, service items) are looked up in
one query per kind for a whole page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.onethings.models import OneThing, ServiceItem
from catalogs.resources.models import Resource
from exchange.audit import repository as audit_repo
from exchange.audit.models import AuditEntry
from exchange.identity.models import System
from exchange.tracker.models import TrackerRead


def entries_about(
    session: Session,
    id_number: str,
    *,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[AuditEntry], int]:
    """Return one page of the entries whose data subject is ``id_number``, newest first."""
    return audit_repo.search_entries(
        session,
        filters={"subject_key": id_number},
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )


def entry(session: Session, seq: int) -> AuditEntry | None:
    """Return the access-log entry ``seq``, if any."""
    return audit_repo.get_entry(session, seq)


def _wanted(codes: Iterable[str | None]) -> set[str]:
    return {c for c in codes if c}


def department_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Return department code → name for ``codes``."""
    wanted = _wanted(codes)
    if not wanted:
        return {}
    query = select(Department.code, Department.name).where(Department.code.in_(wanted))
    return {code: name for code, name in session.execute(query)}


def system_names(session: Session, client_ids: Iterable[str | None]) -> dict[str, str]:
    """Return system client id → name for ``client_ids``."""
    wanted = _wanted(client_ids)
    if not wanted:
        return {}
    query = select(System.client_id, System.name).where(System.client_id.in_(wanted))
    return {client_id: name for client_id, name in session.execute(query)}


def resources(session: Session, codes: Iterable[str | None]) -> dict[str, Resource]:
    """Return resource code → resource (with its items) for ``codes``."""
    wanted = _wanted(codes)
    if not wanted:
        return {}
    return {r.code: r for r in session.scalars(select(Resource).where(Resource.code.in_(wanted)))}


def purpose_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Return purpose code → name: a service item's (办事事项), else a one-thing's (一件事)."""
    wanted = _wanted(codes)
    if not wanted:
        return {}
    names = {
        code: name
        for code, name in session.execute(
            select(OneThing.code, OneThing.name).where(OneThing.code.in_(wanted))
        )
    }
    names.update(
        {
            code: name
            for code, name in session.execute(
                select(ServiceItem.code, ServiceItem.name).where(ServiceItem.code.in_(wanted))
            )
        }
    )
    return names


def add_read(session: Session, read: TrackerRead) -> None:
    """Record one tracker read in the caller's transaction."""
    session.add(read)
    session.flush()


def reads_of(session: Session, subject_hmac: str) -> Sequence[TrackerRead]:
    """Return the tracker reads of one citizen (by pseudonym), oldest first."""
    query = select(TrackerRead).where(TrackerRead.subject_hmac == subject_hmac)
    return session.scalars(query.order_by(TrackerRead.id)).all()
