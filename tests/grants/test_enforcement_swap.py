"""Decisions in flight while the policy is rebuilt and swapped: never wrong, never an error."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.demo.seed import SeedResult
from exchange.grants.engine import GrantPolicy
from exchange.grants.models import PolicyState
from tests.grants.enforcement_support import (
    BACKOFFICE,
    ID_CARD,
    TRANSFER,
    WINDOW,
    ZRZYT,
    add_grant,
    change_grant,
)


def _version(db: Session) -> int:
    db.expire_all()
    value = int(db.scalar(select(PolicyState.version).where(PolicyState.id == 1)) or 0)
    db.rollback()
    return value


def test_threads_deciding_while_the_policy_is_swapped_get_no_wrong_answer_and_no_error(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    policy: GrantPolicy = app.state.grant_policy
    # Some bulk so a rebuild is not trivial, on other consumers and items.
    for i in range(15):
        add_grant(db, consumer="zj-mzt", items=["name", "gender"], purposes=[f"p{i}", TRANSFER])
    toggled = add_grant(db, items=["id_number"])
    add_grant(db, system=BACKOFFICE, items=["address"])  # never WINDOW's: always denied
    expected: dict[int, bool] = {_version(db): True}
    stop = threading.Event()
    seen: list[tuple[int, bool, bool]] = []
    errors: list[BaseException] = []

    def decider() -> None:
        local: list[tuple[int, bool, bool]] = []
        try:
            while not stop.is_set():
                d = policy.decide(
                    system=WINDOW,
                    department=ZRZYT,
                    resource_code=ID_CARD,
                    items=["id_number", "address"],
                    purpose=TRANSFER,
                )
                time.sleep(0)  # let the writer in: three spinning threads would starve it
                local.append(
                    (d.policy_version, "id_number" in d.allowed_items, "address" in d.allowed_items)
                )
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)
        seen.extend(local)

    threads = [threading.Thread(target=decider) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        allowed = True
        for round_ in range(12):
            allowed = not allowed
            if allowed:
                change_grant(db, toggled, status="approved", ended_at=None)
            else:
                change_grant(db, toggled, status="revoked", ended_at=utcnow())
            expected[_version(db)] = allowed
            if round_ % 2 == 0:
                policy.refresh(full=True)  # a full rebuild swapped in under the deciders
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert len(seen) > 100
    wrong = [(v, a) for v, a, other in seen if v not in expected or expected[v] != a or other]
    assert wrong == []
    assert len({v for v, _, _ in seen}) > 5  # the deciders really saw many versions
