"""A submission cut by ``kill -9``: one Idempotency-Key makes one application, for ever.

The crash is made in-process: the submission's first steps run (claim the key, commit the
application row with the materials that need no pull) and then nothing more, as when the
hub process is killed while its pulls are in flight. The key was claimed an hour ago, so
it counts as abandoned (``idempotency_in_flight_seconds``).
"""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from exchange.applications import idempotency, retry, service
from exchange.applications.models import ApplicationEvent, ApplicationMaterial, IdempotencyRecord
from exchange.audit.log import AuditLog
from exchange.core.db import utcnow
from tests.applications.core_support import (
    ESF_PULLED,
    WINDOW,
    applications,
    entries,
    esf_body,
    hub,
    last_seq,
    material,
    pdf_file,
    settings,
    submit,
)
from tests.records.support import headers

__all__ = ["hub", "settings"]

PULLED = set(ESF_PULLED)


def _crash_after_the_row(
    app: FastAPI, body: dict[str, Any], key: str, *, claimed_ago: float = 3600.0
) -> tuple[service.Unfinished, idempotency.Claim]:
    """Run a submission up to its application row's commit, then stop (the process died)."""
    ctx = service.context_for(app.state)
    principal = service.window_principal(WINDOW, "zj-zrzyt", token_id="killed")
    ask = service.parse(body)
    prepared = service._prepare(ctx, ask)
    claim = idempotency.claim(
        ctx.factory,
        caller=WINDOW,
        key=key,
        request_sha256=idempotency.request_sha256(body),
        stale_after_seconds=ctx.settings.idempotency_in_flight_seconds,
        now=utcnow() - timedelta(seconds=claimed_ago),
    )
    return service._create(ctx, claim, ask, prepared, principal), claim


def _listed(client: TestClient, app: FastAPI) -> int:
    response = client.get("/v1/applications", headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def _count(db: Session, model: Any, **where: Any) -> int:
    db.expire_all()
    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.scalar(query) or 0)


def _record(db: Session, key: str) -> IdempotencyRecord | None:
    db.expire_all()
    return db.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).first()


def test_a_resubmission_after_a_crash_finishes_the_application_the_crash_left(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    body = esf_body(files=[pdf_file("registration_application")])
    work, _ = _crash_after_the_row(app, body, "esf-cut-1")
    # Left behind: the row and what needed no pull; nothing pulled; not listed to anyone.
    (left,) = applications(db)
    assert {m.status for m in left.materials} <= {"submitted", "must_submit"}
    assert not PULLED & {m.material_code for m in left.materials}
    assert _listed(hub, app) == 0

    before = last_seq(app)
    response = submit(hub, app, body, key="esf-cut-1")
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["number"] == work.number  # the same application, finished
    assert {m["code"] for m in case["materials"] if m["status"] == "fetched"} == PULLED
    brought = material(case, "registration_application")
    assert brought["status"] == "submitted" and brought["files"][0]["filename"].endswith(".pdf")
    assert [e["action"] for e in case["events"]] == ["submitted"]
    assert [a.number for a in applications(db)] == [work.number]
    record = _record(db, "esf-cut-1")
    assert record is not None and record.state == "done"
    assert record.application_id == work.application_id
    pulls = [e for e in entries(app, before) if e.resource_code]
    assert len(pulls) == len(PULLED) and {e.case_id for e in pulls} == {work.number}

    again = submit(hub, app, body, key="esf-cut-1")
    assert again.status_code == 201 and again.content == response.content
    assert _listed(hub, app) == 1


def test_a_key_whose_owner_may_still_be_alive_is_not_taken_over(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    _crash_after_the_row(app, esf_body(), "esf-cut-2", claimed_ago=0)
    response = submit(hub, app, key="esf-cut-2")
    assert response.status_code == 409 and response.headers["Retry-After"] == "1"
    assert len(applications(db)) == 1


def test_an_abandoned_submission_is_finished_in_the_background(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    body = esf_body()
    work, _ = _crash_after_the_row(app, body, "esf-cut-3")
    before = last_seq(app)
    run: retry.RetryRun = hub.portal.call(retry.run_due, app.state)  # type: ignore[union-attr]
    assert run.adopted == 1
    (finished,) = applications(db)
    assert {m.material_code for m in finished.materials if m.status == "fetched"} == PULLED
    pulls = [e for e in entries(app, before) if e.resource_code]
    assert pulls and all(e.case_id == work.number and e.system == WINDOW for e in pulls)
    assert _listed(hub, app) == 1
    # The window comes back with its key: it is told the application the hub finished.
    response = submit(hub, app, body, key="esf-cut-3")
    assert response.status_code == 201, response.text
    assert response.json()["number"] == work.number
    assert [e["actor"] for e in response.json()["events"]] == [WINDOW]
    assert len(applications(db)) == 1
    assert hub.portal.call(retry.run_due, app.state).adopted == 0  # type: ignore[union-attr]


def test_an_abandoned_key_that_made_no_application_is_forgotten(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    ctx = service.context_for(app.state)
    idempotency.claim(
        ctx.factory,
        caller=WINDOW,
        key="esf-cut-4",
        request_sha256=idempotency.request_sha256(esf_body()),
        stale_after_seconds=ctx.settings.idempotency_in_flight_seconds,
        now=utcnow() - timedelta(hours=1),
    )
    run: retry.RetryRun = hub.portal.call(retry.run_due, app.state)  # type: ignore[union-attr]
    assert run.forgotten == 1 and _record(db, "esf-cut-4") is None
    assert submit(hub, app, key="esf-cut-4").status_code == 201
    assert len(applications(db)) == 1


def test_the_process_that_was_only_slow_writes_nothing_twice(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    body = esf_body()
    work, slow = _crash_after_the_row(app, body, "esf-cut-5")
    taken = submit(hub, app, body, key="esf-cut-5")
    assert taken.status_code == 201
    materials = _count(db, ApplicationMaterial, application_id=work.application_id)
    # The first process wakes up and tries to finish: its key is not its own any more.
    ctx = service.context_for(app.state)
    principal = service.window_principal(WINDOW, "zj-zrzyt", token_id="slow")
    finish = functools.partial(
        service._complete,
        ctx,
        slow,
        work,
        principal=principal,
        request_id="slow",
        trail=None,
        cutoff=float("inf"),
    )
    with pytest.raises(idempotency.Superseded) as caught:
        hub.portal.call(finish)  # type: ignore[union-attr]
    assert caught.value.status == 409
    # Nor does its failure handling delete what the other request finished.
    hub.portal.call(service._undo, ctx, slow, work)  # type: ignore[union-attr]
    assert [a.number for a in applications(db)] == [work.number]
    assert _count(db, ApplicationMaterial, application_id=work.application_id) == materials
    assert _count(db, ApplicationEvent, application_id=work.application_id) == 1
    replay = submit(hub, app, body, key="esf-cut-5")
    assert replay.content == taken.content


def test_a_takeover_that_fails_leaves_nothing_half_made(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    body = esf_body()
    _crash_after_the_row(app, body, "esf-cut-6")
    audit: AuditLog = app.state.audit
    with audit.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    try:
        assert submit(hub, app, body, key="esf-cut-6").status_code == 503
    finally:
        with audit.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
    assert applications(db) == [] and _record(db, "esf-cut-6") is None
    again = submit(hub, app, body, key="esf-cut-6")
    assert again.status_code == 201, again.text
    assert [a.number for a in applications(db)] == [again.json()["number"]]


def test_resubmissions_at_once_after_a_crash_make_one_application(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    body = esf_body()
    work, _ = _crash_after_the_row(app, body, "esf-cut-7")
    head = {**headers(app, WINDOW), "Idempotency-Key": "esf-cut-7"}
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def send() -> None:
        barrier.wait(timeout=10)
        answers.append(hub.post("/v1/applications", json=body, headers=head))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted({a.status_code for a in answers}) in ([201], [201, 409]), [
        a.text for a in answers
    ]
    numbers = {a.json()["number"] for a in answers if a.status_code == 201}
    assert numbers == {work.number}
    assert [a.number for a in applications(db)] == [work.number]


def test_a_fresh_key_sent_at_once_makes_one_application(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    head = {**headers(app, WINDOW), "Idempotency-Key": f"esf-{uuid.uuid4().hex}"}
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def send() -> None:
        barrier.wait(timeout=10)
        answers.append(hub.post("/v1/applications", json=esf_body(), headers=head))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert {a.status_code for a in answers} <= {201, 409}
    assert len({a.json()["number"] for a in answers if a.status_code == 201}) == 1
    assert len(applications(db)) == 1
