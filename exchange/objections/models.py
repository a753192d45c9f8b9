"""Data objections (数据异议/纠错): a record flagged as wrong, the provider's answer, history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.core.db import Base, utcnow


class DataObjection(Base):
    """One objection to items of one record (resource + key), and the provider's answer.

    status: open → answered (corrected | confirmed_correct | rejected) → closed; an open one
    can also be closed (withdrawn) by whoever raised it. The provider answers by ``due_on``
    (N working days after raising); past it, the sweep escalates to the province admin.
    """

    __tablename__ = "data_objections"
    __table_args__ = (
        Index("ix_data_objections_provider_id_status", "provider_id", "status"),
        Index("ix_data_objections_raiser_department_id_status", "raiser_department_id", "status"),
        Index("ix_data_objections_subject_key_resource_id", "subject_key", "resource_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # who must answer
    subject_key: Mapped[str] = mapped_column(String(256))  # the record's key value
    key_item: Mapped[str | None] = mapped_column(String(64), default=None)
    items: Mapped[list[Any]] = mapped_column(default=list)  # the disputed 信息项 codes
    description: Mapped[str] = mapped_column(Text)
    proposed_correction: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(16))  # tracker | department | conflict
    raised_by: Mapped[str] = mapped_column(String(160))  # citizen:<masked id> or a principal
    raiser_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), default=None
    )
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    case_id: Mapped[str | None] = mapped_column(String(128), default=None)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    due_on: Mapped[date] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    answer: Mapped[str | None] = mapped_column(String(24), default=None)
    answer_reason: Mapped[str | None] = mapped_column(Text, default=None)
    answered_by: Mapped[str | None] = mapped_column(String(160), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(160), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Optimistic lock: two answers at once → exactly one wins.
    row_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    resource: Mapped[Resource] = relationship(lazy="selectin")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_id], lazy="selectin")
    raiser_department: Mapped[Department | None] = relationship(
        foreign_keys=[raiser_department_id], lazy="selectin"
    )


class ObjectionEvent(Base):
    """One change of an objection: who, when, what and why."""

    __tablename__ = "objection_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(
        ForeignKey("data_objections.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
