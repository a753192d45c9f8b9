"""Queries for the principal registry, spent client assertions and signing keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from exchange.identity.models import SigningKey, System, UsedAssertion, User


def department_by_code(session: Session, code: str) -> Department | None:
    """Return the department with ``code``, if it exists."""
    return session.scalars(select(Department).where(Department.code == code)).first()


def system_by_client_id(session: Session, client_id: str) -> System | None:
    """Return the system registered as ``client_id``, if any."""
    return session.scalars(select(System).where(System.client_id == client_id)).first()


def client_ids(session: Session) -> set[str]:
    """Return every registered client id (active or not)."""
    return set(session.scalars(select(System.client_id)))


def list_systems(
    session: Session,
    *,
    department_id: int | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[System], int]:
    """Return one page of systems (ordered by client id) and the total that match."""
    stmt = select(System)
    if department_id is not None:
        stmt = stmt.where(System.department_id == department_id)
    if status is not None:
        stmt = stmt.where(System.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(System.client_id).offset(offset).limit(limit)).all()
    return rows, total


def user_by_username(session: Session, username: str) -> User | None:
    """Return the user called ``username``, if any."""
    return session.scalars(select(User).where(User.username == username)).first()


def list_users(session: Session) -> Sequence[User]:
    """Return every user, ordered by username."""
    return session.scalars(select(User).order_by(User.username)).all()


def assertion_used(session: Session, *, client_id: str, jti: str) -> bool:
    """Return whether ``client_id`` has already spent an assertion with ``jti``."""
    stmt = select(UsedAssertion.jti).where(
        UsedAssertion.client_id == client_id, UsedAssertion.jti == jti
    )
    return session.scalar(stmt) is not None


def purge_used_assertions(session: Session, *, before: datetime) -> None:
    """Forget spent assertions that could no longer be accepted anyway."""
    session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < before))


def all_signing_keys(session: Session) -> Sequence[SigningKey]:
    """Return every hub signing key, oldest first."""
    return session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
