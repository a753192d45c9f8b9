"""Two administrators deciding the same request at once: exactly one wins, the other gets 409.

Runs on SQLite (the optimistic row version decides) and on the real PostgreSQL (the row lock,
SELECT … FOR NO KEY UPDATE, makes the second wait and then see the first's decision).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.core.errors import Conflict
from exchange.demo.seed import SeedResult
from exchange.grants import decisions
from exchange.grants.models import GrantEvent
from exchange.grants.schemas import Approval
from exchange.identity.principal import Principal
from tests.grants.support import file_request, headers

DECIDERS = {
    "gat-admin": Principal(
        subject="user:gat-admin",
        kind="user",
        department="zj-gat",
        roles=frozenset({"catalog_admin"}),
        token_id="t1",
    ),
    "province-admin": Principal(
        subject="user:province-admin",
        kind="user",
        department="zj-dsj",
        roles=frozenset({"province_admin"}),
        token_id="t2",
    ),
}
PURPOSES = ["330000-ZR-001", "330000-ZR-002", "330000-SW-001", "esf-transfer", "330000-ZJ-001"]


def _race(app: FastAPI, grant_id: int) -> list[str]:
    barrier = threading.Barrier(len(DECIDERS))
    outcomes: list[str] = []

    def decide(who: str) -> None:
        session: Session = app.state.sessionmaker()
        try:
            barrier.wait(timeout=10)
            decisions.approve(
                session,
                grant_id=grant_id,
                data=Approval(reason=f"approved by {who}"),
                actor=DECIDERS[who],
                authz=app.state.authorizer,
            )
            session.commit()
            outcomes.append("won")
        except Conflict:
            session.rollback()
            outcomes.append("conflict")
        finally:
            session.close()

    threads = [threading.Thread(target=decide, args=(who,)) for who in DECIDERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def _approvals(db: Session, grant_id: int) -> list[GrantEvent]:
    rows = db.scalars(
        select(GrantEvent).where(GrantEvent.grant_id == grant_id, GrantEvent.action == "approved")
    ).all()
    db.rollback()
    return list(rows)


def test_concurrent_approvals_exactly_one_wins(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    for purpose in PURPOSES:
        grant = file_request(client, app, purposes=[purpose])
        outcomes = _race(app, grant["id"])
        assert sorted(outcomes) == ["conflict", "won"], outcomes
        [approval] = _approvals(db, grant["id"])
        shown = client.get(f"/v1/grants/{grant['id']}", headers=headers(app, "gat-admin")).json()
        assert shown["status"] == "approved"
        assert shown["decided_by"] == approval.actor
        assert shown["decision_reason"] == approval.reason


def test_concurrent_approvals_through_the_api(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    for purpose in PURPOSES[:3]:
        grant = file_request(client, app, purposes=[purpose])
        barrier = threading.Barrier(2)
        codes: list[int] = []
        bodies: list[Any] = []

        def approve(who: str, grant_id: int = grant["id"]) -> None:
            auth = headers(app, who)
            barrier.wait(timeout=10)
            response = client.post(f"/v1/grants/{grant_id}/approve", json={}, headers=auth)
            codes.append(response.status_code)
            bodies.append(response.json())

        threads = [threading.Thread(target=approve, args=(who,)) for who in DECIDERS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert Counter(codes) == Counter({200: 1, 409: 1}), bodies
        assert len(_approvals(db, grant["id"])) == 1
