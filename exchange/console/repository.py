"""The console's own queries: people and sessions, and the access log's counts for charts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from exchange.audit.models import AuditEntry
from exchange.console.models import ConsoleSession
from exchange.identity.models import User


def user_for_sign_in(session: Session, username: str) -> User | None:
    """Return the user called ``username``, locked for update where the database can."""
    stmt = select(User).where(User.username == username)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def add_session(
    session: Session, *, digest: str, user: User, now: datetime, expires_at: datetime
) -> ConsoleSession:
    """Store a new session (by its token's digest) and forget the user's expired ones."""
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.user_id == user.id, ConsoleSession.expires_at <= now
        )
    )
    row = ConsoleSession(
        id=digest,
        user_id=user.id,
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def session_by_digest(session: Session, digest: str) -> ConsoleSession | None:
    """Return the session whose token has SHA-256 ``digest``."""
    return session.get(ConsoleSession, digest)


def delete_session(session: Session, digest: str) -> None:
    """Delete one session."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == digest))
    session.flush()


def delete_user_sessions(session: Session, user_id: int) -> int:
    """Delete every session of a user (a new password signs them out everywhere)."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def departments(session: Session) -> Sequence[Department]:
    """Return every department, ordered by code (for the forms' choices)."""
    return session.scalars(select(Department).order_by(Department.code)).all()


# ---- the access log, counted for the auditors' charts ---------------------------------------


def _china_day(session: Session) -> ColumnElement[Any]:
    """The civil date in China (UTC+8, no daylight saving) of an entry, as YYYY-MM-DD."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", AuditEntry.at), "YYYY-MM-DD")
    return func.date(AuditEntry.at, "+8 hours")


def counts_by_day(session: Session, *, since: datetime) -> list[tuple[str, str, int]]:
    """Return (China date, decision, entries) since ``since``."""
    day = _china_day(session).label("day")
    stmt = (
        select(day, AuditEntry.decision, func.count())
        .where(AuditEntry.at >= since)
        .group_by(day, AuditEntry.decision)
    )
    return [(str(d), str(decision), int(n)) for d, decision, n in session.execute(stmt)]


def counts_by_department(session: Session, *, since: datetime) -> list[tuple[str, str, int]]:
    """Return (caller's department, decision, entries) since ``since``."""
    stmt = (
        select(AuditEntry.department, AuditEntry.decision, func.count())
        .where(AuditEntry.at >= since)
        .group_by(AuditEntry.department, AuditEntry.decision)
    )
    return [(str(d or "-"), str(decision), int(n)) for d, decision, n in session.execute(stmt)]


def log_size(session: Session) -> int:
    """Return the last sequence number of the access log (0 when empty)."""
    return int(session.scalar(select(func.max(AuditEntry.seq))) or 0)


def counts_for_subject(session: Session, subject: str) -> list[tuple[str, str, int]]:
    """Return (caller's department, decision, entries) of every access to one data subject."""
    stmt = (
        select(AuditEntry.department, AuditEntry.decision, func.count())
        .where(AuditEntry.subject_key == subject)
        .group_by(AuditEntry.department, AuditEntry.decision)
    )
    return [(str(d or "-"), str(decision), int(n)) for d, decision, n in session.execute(stmt)]
