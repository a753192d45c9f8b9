"""Departments (政务部门): the providers and consumers of shared data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.core.db import Base, utcnow


class Department(Base):
    """A government department; ``code`` is its stable identifier across the platform."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # province | city | county
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), default=None)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded on access (a department's parent is rarely needed outside its own API).
    parent: Mapped[Department | None] = relationship(remote_side=[id], lazy="select")
