"""A small crafted province history whose supervision figures are known by hand.

In the range (the last ten days): 二手房交易过户 (esf-transfer) has five applications
accepted, three completed (2 h with one visit, 10 h with two, 4 h with one), one in
review, one returned (the tax office rejected its part); 新生儿出生 (newborn) one completed
in 1 h; 企业开办 none. One esf application 45 days ago is outside the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.applications import backoffice
from exchange.applications.models import Application
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.core.db import utcnow
from exchange.grants.models import Grant
from exchange.grants.service import china_today
from exchange.objections.models import DataObjection
from tests.supervision.cases import create_application

TAX_PRICE = "304001001/000001"  # 存量房交易计税价格 (zj-tax): esf-transfer only
BIRTH = "308001001/000001"  # 出生医学证明信息 (zj-wjw): newborn only
ID_CARD = "301001002/000002"  # 居民身份证信息 (zj-gat): all three one-things
LICENSE = "305001001/000001"  # 企业登记注册信息 (zj-scjgj)


@dataclass(frozen=True)
class History:
    """What the dataset made: the range to ask for and the first esf application."""

    since: date
    until: date
    first_number: str


def _resource(session: Session, code: str) -> Resource:
    return session.scalars(select(Resource).where(Resource.code == code)).one()


def _department(session: Session, code: str) -> Department:
    return session.scalars(select(Department).where(Department.code == code)).one()


def _completed(
    session: Session, one_thing: str, *, hours: float, visits: int, done: datetime, **kw: object
) -> Application:
    application = create_application(
        session,
        one_thing=one_thing,
        status="in_review",
        visits=visits,
        accepted_at=done - timedelta(hours=hours),
        **kw,  # type: ignore[arg-type]
    )
    for part in backoffice.open_parts(session, application, actor="test"):
        part.status, part.decided_by, part.decided_at = "approved", "test", done
    application.status, application.completed_at = "completed", done
    return application


def _applications(session: Session, now: datetime) -> str:
    done = now - timedelta(days=2)
    first = _completed(
        session,
        "esf-transfer",
        hours=2,
        visits=1,
        done=done,
        materials={"buyer_tax_record": "must_submit", "sale_contract": "unavailable"},
    )
    _completed(session, "esf-transfer", hours=10, visits=2, done=done)
    _completed(session, "esf-transfer", hours=4, visits=1, done=done)
    _completed(session, "newborn", hours=1, visits=1, done=done)
    # Long ago: outside the range on every count.
    _completed(session, "esf-transfer", hours=30, visits=3, done=now - timedelta(days=44))
    review = create_application(session, status="in_review", accepted_at=now - timedelta(days=1))
    backoffice.open_parts(session, review, actor="test")
    returned = create_application(session, status="in_review", accepted_at=now - timedelta(days=1))
    for part in backoffice.open_parts(session, returned, actor="test"):
        if part.department == "zj-tax":
            part.status, part.reason = "rejected", "金额不符"
            part.decided_by, part.decided_at = "test", now - timedelta(hours=20)
    returned.status = "returned"
    return first.number


def _grants(session: Session, today: date) -> None:
    window = _department(session, "zj-zrzyt").id
    rows = [  # (resource, purposes, status, due_on): only the 1st and 4th are overdue
        (TAX_PRICE, ["330000-ZR-001"], "pending", today - timedelta(days=3)),
        (TAX_PRICE, ["330000-ZR-001"], "pending", today + timedelta(days=5)),
        (TAX_PRICE, ["330000-ZR-001"], "approved", today - timedelta(days=3)),
        (LICENSE, ["company-start"], "pending", today - timedelta(days=1)),
    ]
    for code, purposes, status, due in rows:
        session.add(
            Grant(
                consumer_department_id=window,
                resource_id=_resource(session, code).id,
                items=["price"],
                purposes=purposes,
                starts_on=today,
                ends_on=today + timedelta(days=365),
                need="测试",
                status=status,
                requested_by="test",
                requested_at=utcnow() - timedelta(days=20),
                due_on=due,
            )
        )


def _objections(session: Session, today: date, case: str) -> None:
    rows = [  # (resource, case, status, due_on): the 1st (esf) and 4th (no case) are overdue
        (ID_CARD, case, "open", today - timedelta(days=2)),
        (ID_CARD, case, "open", today + timedelta(days=3)),
        (ID_CARD, case, "answered", today - timedelta(days=2)),
        (TAX_PRICE, "OTHER-1", "open", today - timedelta(days=4)),
    ]
    for code, case_id, status, due in rows:
        resource = _resource(session, code)
        session.add(
            DataObjection(
                resource_id=resource.id,
                provider_id=resource.provider_id,
                subject_key="330106199001011234",
                items=["name"],
                description="测试",
                source="department",
                raised_by="test",
                raised_at=utcnow() - timedelta(days=15),
                case_id=case_id,
                status=status,
                due_on=due,
            )
        )


def _checks(session: Session, now: datetime) -> None:
    # resource → (ok, failed) in the range; one more failure of TAX_PRICE long ago.
    for code, ok, failed in ((TAX_PRICE, 3, 1), (BIRTH, 2, 0), (ID_CARD, 1, 1)):
        binding = ConnectorBinding(
            resource_id=_resource(session, code).id,
            adapter="sql",
            config={},
            key_item="id_number",
            columns={},
        )
        session.add(binding)
        session.flush()
        outcomes = [True] * ok + [False] * failed
        for i, result in enumerate(outcomes):
            at = now - timedelta(hours=i + 1)
            session.add(ConnectorCheck(binding_id=binding.id, at=at, ok=result, latency_ms=5.0))
        if code == TAX_PRICE:
            old = now - timedelta(days=40)
            session.add(ConnectorCheck(binding_id=binding.id, at=old, ok=False, latency_ms=5.0))


def seed_history(session: Session) -> History:
    """Write the crafted history (committed) and return the range to report on."""
    now, today = utcnow(), china_today()
    first = _applications(session, now)
    _grants(session, today)
    _objections(session, today, first)
    _checks(session, now)
    session.commit()
    return History(since=today - timedelta(days=9), until=today, first_number=first)
