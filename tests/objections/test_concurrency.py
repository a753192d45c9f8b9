"""Two administrators answering the same objection at once: exactly one wins, the other 409."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.demo.seed import SeedResult
from exchange.objections.models import ObjectionEvent
from tests.objections.support import answer, raise_as


def test_concurrent_answers_exactly_one_wins(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    for items in (["name"], ["address"], ["photo"]):
        oid = raise_as(client, app, items=items, proposed_correction=None)["id"]
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def respond(who: str, verdict: str, oid: int = oid) -> None:
            barrier.wait(timeout=10)
            response = answer(client, app, oid, who, answer=verdict, reason=f"{who} 核实")
            codes.append(response.status_code)

        threads = [
            threading.Thread(target=respond, args=("gat-admin", "corrected")),
            threading.Thread(target=respond, args=("province-admin", "rejected")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(codes) == [200, 409], codes
        answered = db.scalars(
            select(ObjectionEvent).where(
                ObjectionEvent.objection_id == oid, ObjectionEvent.action == "answered"
            )
        ).all()
        db.rollback()
        assert len(answered) == 1
