"""Grant rows written straight through the ORM, as the lifecycle service writes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.core.db import utcnow
from exchange.grants.models import Grant
from exchange.grants.policy import bump_policy_version, hub_today
from exchange.identity.models import System

ID_CARD = "301001002/000002"  # 居民身份证信息 (zj-gat): id_number, name, gender, ..., address
MARRIAGE = "302001001/000001"  # 婚姻登记信息 (zj-mzt)
TRANSFER = "330000-ZR-001"  # 二手房不动产转移登记 (a service item of zj-zrzyt)
TAX = "330000-SW-001"
ZRZYT, WINDOW, BACKOFFICE = "zj-zrzyt", "zj-zrzyt-window", "zj-zrzyt-backoffice"


def today() -> date:
    """Return today as the hub's policy sees it (civil date in China)."""
    return hub_today()


def add_grant(
    db: Session,
    *,
    consumer: str = ZRZYT,
    system: str | None = None,
    resource: str = ID_CARD,
    items: Sequence[str] = ("id_number", "name"),
    purposes: Sequence[str] = (TRANSFER,),
    starts_on: date | None = None,
    ends_on: date | None = None,
    status: str = "approved",
    masked: bool = False,
    certified_on: date | str | None = "decision day",
    decided_at: datetime | None = None,
    bump: bool = True,
) -> int:
    """Insert a grant row (approved by default, in force today) and commit; return its id."""
    dept = db.scalars(select(Department).where(Department.code == consumer)).one()
    res = db.scalars(select(Resource).where(Resource.code == resource)).one()
    sys_id = None
    if system is not None:
        sys_id = db.scalars(select(System.id).where(System.client_id == system)).one()
    start = starts_on or today() - timedelta(days=10)
    grant = Grant(
        consumer_department_id=dept.id,
        consumer_system_id=sys_id,
        resource_id=res.id,
        items=list(items),
        purposes=list(purposes),
        masked=masked,
        starts_on=start,
        ends_on=ends_on or today() + timedelta(days=180),
        need="测试",
        status=status,
        requested_by="user:test",
        decided_by=None if status == "pending" else "user:gat-admin",
        decided_at=None if status == "pending" else (decided_at or utcnow()),
        certified_on=(today() if status != "pending" else None)
        if isinstance(certified_on, str)
        else certified_on,
    )
    db.add(grant)
    db.flush()
    if bump:
        bump_policy_version(db)
    db.commit()
    return grant.id


def change_grant(db: Session, grant_id: int, *, bump: bool = True, **values: object) -> None:
    """Change a grant's columns (status, dates, items, ...), bump the policy and commit."""
    grant = db.get(Grant, grant_id)
    assert grant is not None
    for name, value in values.items():
        setattr(grant, name, value)
    db.flush()
    if bump:
        bump_policy_version(db)
    db.commit()
