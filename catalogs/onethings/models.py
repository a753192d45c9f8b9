"""Service items (办事事项), one-things (一件事) and their materials (申请材料)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.departments.models import Department
from exchange.core.db import Base, utcnow

one_thing_service_items = Table(
    "one_thing_service_items",
    Base.metadata,
    Column("one_thing_id", ForeignKey("one_things.id", ondelete="CASCADE"), primary_key=True),
    Column("service_item_id", ForeignKey("service_items.id"), primary_key=True),
)


class ServiceItem(Base):
    """A service item (办事事项) handled by one department; a grant purpose."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="selectin")


class OneThing(Base):
    """A "one thing" (一件事): what the citizen sees as one matter, across departments."""

    __tablename__ = "one_things"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lead_department: Mapped[Department] = relationship(lazy="selectin")
    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=one_thing_service_items, lazy="selectin"
    )
    materials: Mapped[list[Material]] = relationship(
        back_populates="one_thing",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="Material.position",
    )


class Material(Base):
    """A material (申请材料): pulled from a catalogue resource, or submitted by the applicant."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("one_thing_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    one_thing_id: Mapped[int] = mapped_column(ForeignKey("one_things.id", ondelete="CASCADE"))
    service_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_items.id"), default=None
    )
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # pullable | submitted
    # Not a foreign key on purpose: a material may name a resource the catalogue lacks,
    # and the elimination report says so.
    resource_code: Mapped[str | None] = mapped_column(String(32), default=None)
    items: Mapped[list[Any]] = mapped_column(default=list)
    key_identifier: Mapped[str | None] = mapped_column(String(32), default=None)
    minor: Mapped[bool] = mapped_column(default=False)  # 容缺
    commitment_allowed: Mapped[bool] = mapped_column(default=False)  # 承诺
    description: Mapped[str | None] = mapped_column(Text, default=None)

    one_thing: Mapped[OneThing] = relationship(back_populates="materials", lazy="raise")
    service_item: Mapped[ServiceItem | None] = relationship(lazy="selectin")
