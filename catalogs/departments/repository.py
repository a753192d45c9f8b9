"""Department queries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department


def by_code(session: Session, code: str) -> Department | None:
    """Return the department with ``code``, or None."""
    return session.scalars(select(Department).where(Department.code == code)).first()


def by_uscc(session: Session, uscc: str) -> Department | None:
    """Return the department with unified social credit code ``uscc``, or None."""
    return session.scalars(select(Department).where(Department.uscc == uscc)).first()


def page(session: Session, *, offset: int, limit: int) -> tuple[list[Department], int]:
    """Return one page of departments ordered by code, and the total count."""
    total = session.scalar(select(func.count()).select_from(Department)) or 0
    rows = session.scalars(select(Department).order_by(Department.code).offset(offset).limit(limit))
    return list(rows), total
