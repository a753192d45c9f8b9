"""Two decisions at once on one application: exactly one wins, the other gets 409.

Each thread reads the part and the application first (as a request does), then all
decide together: the optimistic lock (row_version) lets one update through; the other
matches no row and becomes a Conflict. On PostgreSQL the second update waits for the
first transaction and then finds the version moved on.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI
from sqlalchemy.orm import Session

from exchange.applications import backoffice
from exchange.applications.models import Application, ApplicationPart
from exchange.core.errors import Conflict
from exchange.demo.seed import SeedResult
from exchange.identity.principal import Principal
from tests.applications.test_backoffice import current, events, in_review, part_of


def principal(subject: str, department: str) -> Principal:
    """A department's back-office system as the services see it."""
    return Principal(
        subject=subject,
        kind="system",
        department=department,
        roles=frozenset({"system"}),
        token_id=f"jti-{subject}",
        client_id=subject,
    )


def race(app: FastAPI, attempts: list[tuple[int, str, str, str | None]]) -> list[str]:
    """Run each (part id, decision, department, reason) in its own thread and session."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def run(index: int, part_id: int, decision: str, department: str, reason: str | None) -> None:
        session: Session = app.state.sessionmaker()
        try:
            part = session.get_one(ApplicationPart, part_id)
            assert session.get_one(Application, part.application_id).parts  # read first
            barrier.wait(timeout=10)
            backoffice.decide(
                session,
                part_id=part_id,
                decision=decision,
                reason=reason,
                actor=principal(f"{department}-backoffice", department),
                authz=app.state.authorizer,
            )
            session.commit()
            outcomes[index] = decision
        except Conflict:
            session.rollback()
            outcomes[index] = "409"
        finally:
            session.close()

    threads = [
        threading.Thread(target=run, args=(i, *attempt)) for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_approve_and_reject_of_one_part_at_once_exactly_one_wins(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    part_id = part_of(application, "zj-tax")
    outcomes = race(
        app, [(part_id, "approve", "zj-tax", None), (part_id, "reject", "zj-tax", "金额不符")]
    )
    assert sorted(outcomes) in (["409", "approve"], ["409", "reject"])
    winner = next(o for o in outcomes if o != "409")
    part = next(p for p in current(db, application).parts if p.id == part_id)
    assert part.status == {"approve": "approved", "reject": "rejected"}[winner]
    decided = [e for e in events(db, application) if e.action.startswith("part_")]
    assert len([e for e in decided if e.action != "part_opened"]) == 1


def test_the_last_two_approvals_at_once_never_lose_the_completion(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    zjt, tax, zrzyt = (part_of(application, d) for d in ("zj-zjt", "zj-tax", "zj-zrzyt"))
    first = race(app, [(zjt, "approve", "zj-zjt", None)])
    assert first == ["approve"]
    outcomes = race(app, [(tax, "approve", "zj-tax", None), (zrzyt, "approve", "zj-zrzyt", None)])
    # Without the lock both would see the other still pending and nobody would complete.
    # Overlapping, exactly one wins and the other gets 409; if the threads happen not to
    # overlap (the second reads after the first committed) both win and the second
    # completes. Either way the completion is never lost.
    assert sorted(outcomes) in (["409", "approve"], ["approve", "approve"])
    if "409" in outcomes:
        assert current(db, application).status == "in_review"
        loser = (tax, "zj-tax") if outcomes[0] == "409" else (zrzyt, "zj-zrzyt")
        assert race(app, [(loser[0], "approve", loser[1], None)]) == ["approve"]
    done = current(db, application)
    assert (done.status, done.completed_at is not None) == ("completed", True)
    completions = [e for e in events(db, application) if e.action == "completed"]
    assert len(completions) == 1
