"""Grants (共享权限): who may read which items of a resource, for what, and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.core.db import Base, utcnow
from exchange.identity.models import System


class Grant(Base):
    """A grant request and, once approved, the permission it gives (kept with its history).

    status: pending → approved | refused; approved → revoked | expired | lapsed.
    A request for a 无条件共享 resource is approved at once by rule; for 不予共享 it is
    refused at once, citing the entry's legal basis.
    """

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_status_resource_id", "status", "resource_id"),
        Index("ix_grants_consumer_department_id_status", "consumer_department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # A grant to one registered system of the consumer; None: every system of the department.
    consumer_system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), default=None)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    items: Mapped[list[Any]] = mapped_column(default=list)  # 信息项 codes
    purposes: Mapped[list[Any]] = mapped_column(default=list)  # service item / one-thing codes
    masked: Mapped[bool] = mapped_column(default=False)  # the consumer sees masked values only
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    need: Mapped[str] = mapped_column(Text)  # the stated need (申请理由)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(160))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date | None] = mapped_column(default=None)  # 10 working days after request
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(160), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    certified_on: Mapped[date | None] = mapped_column(default=None)  # last yearly 复核
    ended_at: Mapped[datetime | None] = mapped_column(default=None)  # revoked/expired/lapsed
    # Optimistic lock: two admins deciding at once → exactly one wins.
    row_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    consumer_department: Mapped[Department] = relationship(
        foreign_keys=[consumer_department_id], lazy="selectin"
    )
    consumer_system: Mapped[System | None] = relationship(lazy="selectin")
    resource: Mapped[Resource] = relationship(lazy="selectin")


class GrantEvent(Base):
    """One change of a grant, or one refused attempt at it: who, when, what and why."""

    __tablename__ = "grant_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PolicyState(Base):
    """One row: the grant policy's version, bumped by every change that alters decisions."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CasbinRule(Base):
    """One casbin policy line, in the ``sqlalchemy-adapter`` layout, derived from a grant.

    ``p, <subject>, <resource_code>:<item_code>, <purpose>, <first day>, <last day>, <grant id>``;
    written by ``exchange.grants.policy`` in the transaction that changes the grant.
    """

    __tablename__ = "casbin_rule"
    __table_args__ = (Index("ix_casbin_rule_ptype_v5", "ptype", "v5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ptype: Mapped[str] = mapped_column(String(255))
    v0: Mapped[str | None] = mapped_column(String(255), default=None)
    v1: Mapped[str | None] = mapped_column(String(255), default=None)
    v2: Mapped[str | None] = mapped_column(String(255), default=None)
    v3: Mapped[str | None] = mapped_column(String(255), default=None)
    v4: Mapped[str | None] = mapped_column(String(255), default=None)
    v5: Mapped[str | None] = mapped_column(String(255), default=None)


class PolicyChange(Base):
    """Which grants one policy version changed, so other processes reload just those.

    ``grant_ids`` None: the whole policy may have changed (processes rebuild it all).
    """

    __tablename__ = "policy_changes"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    grant_ids: Mapped[list[Any] | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
