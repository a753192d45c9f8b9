"""The hub sweeps by itself: overdue objections flagged, grants ended, with no CLI and no cron."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from exchange.core.settings import Settings
from exchange.demo.seed import SeedResult
from exchange.grants.service import china_today
from exchange.objections import service as objections
from exchange.objections import sweep as objections_sweep
from exchange.objections.models import ObjectionEvent
from exchange.sweeps.scheduler import OBJECTIONS, Sweep, run_once
from tests.grants import support as grants
from tests.observability.support import scrape, value
from tests.tracker.entries import ID_CARD
from tests.tracker.idp import ALICE

FAST = 0.2  # seconds between rounds in these tests
LOOPBACK = ("127.0.0.1", 50124)  # /metrics answers loopback callers
T = TypeVar("T")


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test hub's settings with a short sweep interval (or the test's own, indirect)."""
    interval = getattr(request, "param", FAST)
    return settings.model_copy(update={"sweep_interval_seconds": interval})


@pytest.fixture
def local(app: FastAPI) -> Iterator[TestClient]:
    """The running hub (lifespan started), called from loopback so /metrics answers."""
    with TestClient(app, client=LOOPBACK) as client:
        yield client


def eventually(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Return ``check()``'s first truthy answer, polling; fail after a generous timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def overdue_objection(db: Session, settings: Settings) -> int:
    """Open an objection a month ago (its 5 working days long past) and commit it."""
    objection = objections.open_objection(
        db,
        resource_code=ID_CARD,
        subject_key=ALICE,
        items=["name"],
        description="两个来源的姓名不一致",
        raised_by="hub:conflicts",
        settings=settings,
        today=china_today() - timedelta(days=30),
    )
    db.commit()
    return objection.id


def shown(client: TestClient, app: FastAPI, kind: str, item_id: int) -> Any:
    """Return an objection or grant as the province admin reads it."""
    response = client.get(f"/v1/{kind}/{item_id}", headers=grants.headers(app, "province-admin"))
    assert response.status_code == 200, response.text
    return response.json()


def actions(item: dict[str, Any]) -> list[str]:
    """Return the actions of an objection's or grant's history, oldest first."""
    return [e["action"] for e in item["events"]]


def _rounds(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    return sum(v for (name, _), v in samples.items() if name == "datarun_sweep_runs_total")


def test_the_hub_flags_overdue_objections_and_ends_grants_by_itself(
    app: FastAPI, local: TestClient, db: Session, settings: Settings, demo_province: SeedResult
) -> None:
    before = scrape(local)
    objection = overdue_objection(db, settings)
    today = china_today()
    ended = grants.approved(local, app)["id"]
    grants.set_dates(
        db, ended, starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=1)
    )
    stale = grants.file_request(local, app, resource=grants.SEAL, items=["uscc"])["id"]
    assert shown(local, app, "grants", stale)["status"] == "approved"  # 无条件共享: by rule
    grants.set_dates(db, stale, certified_on=today - timedelta(days=400))
    late = grants.file_request(local, app, purposes=[grants.ESF])["id"]
    grants.set_dates(db, late, due_on=today - timedelta(days=7))

    # No CLI, no cron: the hub's own rounds do it.
    flagged = eventually(
        lambda: shown(local, app, "objections", objection)["escalated_at"],
        "the overdue objection is flagged to the province admin",
    )
    eventually(lambda: shown(local, app, "grants", ended)["status"] == "expired", "expired")
    eventually(lambda: shown(local, app, "grants", stale)["status"] == "lapsed", "lapsed")
    eventually(lambda: shown(local, app, "grants", late)["escalated_at"], "request escalated")

    # Later rounds find nothing more: each change is recorded once.
    idle = {"sweep": "objections", "outcome": "idle"}
    seen = value(scrape(local), "datarun_sweep_runs_total", **idle)
    eventually(
        lambda: value(scrape(local), "datarun_sweep_runs_total", **idle) >= seen + 2,
        "two more rounds",
    )
    after = shown(local, app, "objections", objection)
    assert actions(after) == ["raised", "escalated"]
    assert after["escalated_at"] == flagged and after["events"][-1]["actor"] == "sweep"
    assert actions(shown(local, app, "grants", ended)).count("expired") == 1
    assert actions(shown(local, app, "grants", stale)).count("lapsed") == 1
    assert actions(shown(local, app, "grants", late)).count("escalated") == 1
    samples = scrape(local)
    for sweep, action in (
        ("objections", "escalated"),
        ("grants", "expired"),
        ("grants", "lapsed"),
        ("grants", "escalated"),
    ):
        labels = {"sweep": sweep, "action": action}
        changed = value(samples, "datarun_sweep_changes_total", **labels)
        assert changed - value(before, "datarun_sweep_changes_total", **labels) == 1, labels


@pytest.mark.parametrize("settings", [0], indirect=True)
def test_interval_zero_runs_no_sweep(
    app: FastAPI, local: TestClient, db: Session, settings: Settings, demo_province: SeedResult
) -> None:
    before = scrape(local)
    objection = overdue_objection(db, settings)
    time.sleep(10 * FAST)  # ten rounds' worth of the interval the other tests use
    assert shown(local, app, "objections", objection)["escalated_at"] is None
    assert _rounds(scrape(local)) == _rounds(before)
    # It was due all along: a sweep run by hand (as the CLI does) flags it.
    assert run_once(app.state.sessionmaker, OBJECTIONS) == {"escalated": 1}


def test_a_failed_round_does_not_stop_the_sweeps(
    app: FastAPI,
    local: TestClient,
    db: Session,
    settings: Settings,
    demo_province: SeedResult,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="datarun.sweeps")
    real = objections_sweep.sweep
    failures: list[date | None] = []

    def down_at_first(session: Session, *, today: date | None = None) -> list[int]:
        if len(failures) < 3:  # the database is unreachable for three rounds
            failures.append(today)
            raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))
        return real(session, today=today)

    monkeypatch.setattr(objections_sweep, "sweep", down_at_first)
    objection = overdue_objection(db, settings)
    today = china_today()
    ended = grants.approved(local, app)["id"]
    grants.set_dates(
        db, ended, starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=1)
    )
    eventually(
        lambda: shown(local, app, "objections", objection)["escalated_at"],
        "the objection flagged once the database answers again",
    )
    assert len(failures) == 3
    # The grants sweep ran in the same rounds regardless.
    assert shown(local, app, "grants", ended)["status"] == "expired"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3
    assert all("objections sweep failed" in m and "connection refused" in m for m in errors)
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("swept ")]
    assert "objections: 1 escalated" in " ".join(done)
    assert not any(ALICE in r.getMessage() for r in caplog.records)  # never personal data
    samples = scrape(local)
    assert value(samples, "datarun_sweep_runs_total", sweep="objections", outcome="failed") >= 3


# The advisory lock is PostgreSQL's (a SQLite hub is one process): PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_of_two_processes_on_postgresql_only_one_sweeps(
    app: FastAPI, db: Session, database_url: str, settings: Settings, demo_province: SeedResult
) -> None:
    objection = overdue_objection(db, settings)
    inside, release = threading.Event(), threading.Event()

    def hold_open(session: Session, day: date) -> dict[str, int]:
        counts = OBJECTIONS.run(session, day)
        inside.set()
        release.wait(timeout=60)  # the transaction (and its lock) stays open until released
        return counts

    first: list[dict[str, int] | None] = []
    second: list[dict[str, int] | None] = []
    holder = Sweep(OBJECTIONS.name, OBJECTIONS.lock_key, hold_open)
    one = threading.Thread(target=lambda: first.append(run_once(app.state.sessionmaker, holder)))
    one.start()
    try:
        assert inside.wait(timeout=60)
        other = threading.Thread(
            target=lambda: second.append(run_once(app.state.sessionmaker, OBJECTIONS))
        )
        other.start()
        # Without the lock it would wait on the first's row locks until released (then
        # find nothing); with it, it skips its round at once.
        other.join(timeout=30)
    finally:
        release.set()
        one.join(timeout=60)
    other.join(timeout=60)
    assert first == [{"escalated": 1}]
    assert second == [None]
    escalations = db.scalar(
        select(func.count())
        .select_from(ObjectionEvent)
        .where(ObjectionEvent.objection_id == objection, ObjectionEvent.action == "escalated")
    )
    assert escalations == 1
    # The lock ended with the first transaction: the next round runs (and finds nothing).
    assert run_once(app.state.sessionmaker, OBJECTIONS) == {"escalated": 0}
