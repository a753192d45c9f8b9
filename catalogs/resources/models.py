"""Catalogue entries (政务信息资源), their data items (信息项) and version history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.departments.models import Department
from exchange.core.db import Base, utcnow


class Resource(Base):
    """One catalogue entry with the core metadata of 《政务信息资源目录编制指南(试行)》."""

    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_status_share_type", "status", "share_type"),
        Index("ix_resources_provider_id", "provider_id"),
        # Visibility (status) plus the search order (code): counts and pages without text
        # are answered from this index alone.
        Index("ix_resources_status_code", "status", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 资源代码 {分类码}/{顺序码}
    category_code: Mapped[str] = mapped_column(String(16), index=True)  # 分类码 (类/项/目/细目)
    name: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    summary: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    share_type: Mapped[str] = mapped_column(String(16))  # unconditional | conditional | none
    share_condition: Mapped[str | None] = mapped_column(Text, default=None)
    share_method: Mapped[str] = mapped_column(String(16))  # api | file | database
    legal_basis: Mapped[str | None] = mapped_column(Text, default=None)
    open_type: Mapped[str] = mapped_column(String(16))  # open | conditional | closed
    update_cycle: Mapped[str] = mapped_column(String(16), index=True)
    published_on: Mapped[date | None] = mapped_column(default=None)
    related_codes: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version_major: Mapped[int] = mapped_column(default=1)
    version_minor: Mapped[int] = mapped_column(default=0)
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased name/summary/items
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    provider: Mapped[Department] = relationship(lazy="selectin")
    items: Mapped[list[ResourceItem]] = relationship(
        back_populates="resource",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ResourceItem.position",
    )

    @property
    def version(self) -> str:
        """Return the version as ``major.minor``."""
        return f"{self.version_major}.{self.version_minor}"


class ResourceItem(Base):
    """A data item (信息项) of a resource: one field a grant can name."""

    __tablename__ = "resource_items"
    __table_args__ = (UniqueConstraint("resource_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    data_type: Mapped[str] = mapped_column(String(1))  # C N Y D T L M G B I F
    sensitivity: Mapped[int] = mapped_column(default=1)  # 1 public .. 4 highly sensitive
    is_key: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text, default=None)

    resource: Mapped[Resource] = relationship(back_populates="items", lazy="raise")


class ResourceVersion(Base):
    """One entry of a resource's version history: what changed, by whom, and the result."""

    __tablename__ = "resource_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(16))
    change_kind: Mapped[str] = mapped_column(String(16))  # created | major | minor | status
    changes: Mapped[list[Any]] = mapped_column(default=list)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
