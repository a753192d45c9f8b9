"""The fan-out under faults: a real loopback department that hangs, refuses, fails or babbles.

人社厅's social-insurance API (the buyer's 社保 for 二手房交易过户) is reached through a proxy
on loopback that misbehaves on demand. Whatever it does, the application is accepted, that
material is ``unavailable`` (retried later) or ``must_submit`` (no record), every other
material is pulled, the answer comes within the budget + 10 %, and nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from exchange.applications.models import Application
from exchange.audit.log import AuditLog
from exchange.core.settings import Settings
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import Sources
from tests.applications.core_support import (
    FaultyDepartment,
    applications,
    closed_port,
    entries,
    esf_body,
    faulty_department,
    hub,
    hub_settings,
    last_seq,
    material,
    rebind_http_department,
    submit,
)
from tests.records.support import headers

__all__ = ["hub"]

BUDGET = 3.0  # seconds: the total budget of these tests' submissions
PER_SOURCE = 1.5  # seconds: each source's deadline
MARGIN = 1.1  # the answer comes within the budget + 10 %


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Short deadlines, no background retries."""
    return hub_settings(
        database_url,
        tmp_path,
        application_budget_seconds=BUDGET,
        application_pull_timeout_seconds=PER_SOURCE,
    )


@pytest.fixture
def faulty(
    app: FastAPI,
    hub: TestClient,
    demo_bound: Settings,
    demo_sources: Sources,
    demo_department: HttpDepartment,
) -> Iterator[FaultyDepartment]:
    """The HTTP department behind a proxy that misbehaves on demand."""
    with faulty_department(app, demo_bound, demo_sources, demo_department) as proxy:
        yield proxy


def _timed_submit(hub: TestClient, app: FastAPI) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = submit(hub, app)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    return response.json(), elapsed


def _others_fetched(case: dict[str, Any]) -> None:
    for code in ("seller_id", "buyer_id", "property_cert", "sale_contract"):
        assert material(case, code)["status"] == "fetched", code


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("hang", {}),
        ("slow", {"delay": PER_SOURCE + 0.5}),
        ("status", {"status": 500}),
        ("status", {"status": 503}),
        ("garbage", {}),
    ],
    ids=["times-out", "slower-than-its-deadline", "answers-500", "answers-503", "garbage"],
)
def test_a_failing_source_leaves_its_material_unavailable_within_the_budget(
    hub: TestClient,
    app: FastAPI,
    faulty: FaultyDepartment,
    mode: str,
    options: dict[str, float],
) -> None:
    faulty.mode = mode
    for name, value in options.items():
        setattr(faulty, name, value)
    before = last_seq(app)
    case, elapsed = _timed_submit(hub, app)
    assert elapsed <= BUDGET * MARGIN, elapsed
    insurance = material(case, "buyer_social_insurance")
    assert insurance["status"] == "unavailable", insurance
    assert insurance["attempts"] == 1 and insurance["next_attempt_at"] is not None
    assert insurance["evidence"] is None and insurance["reason"]
    _others_fetched(case)
    failed = [e for e in entries(app, before) if e.resource_code == "306001001/000001"]
    assert [(e.decision, e.outcome) for e in failed] == [("source_error", 503)]
    assert failed[0].case_id == case["number"] and failed[0].seq == insurance["audit_seq"]


def test_a_refused_connection_leaves_the_material_unavailable(
    hub: TestClient,
    app: FastAPI,
    demo_bound: Settings,
    demo_sources: Sources,
) -> None:
    rebind_http_department(app, demo_bound, demo_sources, f"http://127.0.0.1:{closed_port()}")
    case, elapsed = _timed_submit(hub, app)
    assert elapsed <= BUDGET * MARGIN
    insurance = material(case, "buyer_social_insurance")
    assert insurance["status"] == "unavailable"
    _others_fetched(case)


def test_a_slow_source_within_its_deadline_is_waited_for(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    faulty.mode, faulty.delay = "slow", 0.3
    case, elapsed = _timed_submit(hub, app)
    assert material(case, "buyer_social_insurance")["status"] == "fetched"
    assert elapsed <= BUDGET * MARGIN


def test_a_source_holding_no_record_means_the_applicant_brings_it(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    faulty.mode = "norecord"
    before = last_seq(app)
    case, _ = _timed_submit(hub, app)
    insurance = material(case, "buyer_social_insurance")
    assert insurance["status"] == "must_submit"
    assert "no record" in insurance["reason"]
    logged = [e for e in entries(app, before) if e.resource_code == "306001001/000001"]
    assert [(e.decision, e.record_count) for e in logged] == [("allowed", 0)]


def test_a_smaller_budget_asked_for_is_kept(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    """A hanging source is cut at the asked 800 ms budget, not at its own 1.5 s deadline.

    The evidence is the hub's own: the application records the budget it used, and the
    hanging source's access-log entry was closed well before that source's deadline
    (the budget keeps a share for writing the case file, so the cut comes at ≈ 600 ms).
    Wall-clock time seen by the test is not asserted: on a loaded CI machine writing the
    case file alone can take hundreds of milliseconds.
    """
    faulty.mode = "hang"
    before = last_seq(app)
    response = submit(hub, app, esf_body(budget_ms=800))
    assert response.status_code == 201, response.text
    assert material(response.json(), "buyer_social_insurance")["status"] == "unavailable"
    with app.state.sessionmaker() as session:
        (application,) = session.scalars(select(Application)).all()
        assert application.budget_ms == 800
    (cut,) = [e for e in entries(app, before) if e.resource_code == "306001001/000001"]
    assert cut.decision == "source_error"
    assert cut.latency_ms < PER_SOURCE * 1000 * 0.8, cut.latency_ms  # not the 1.5 s deadline


def test_two_sources_disagreeing_are_flagged_and_an_objection_opened(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    faulty.mode, faulty.name = "tamper", "王小明"
    case, _ = _timed_submit(hub, app)
    (conflict,) = case["conflicts"]
    assert conflict["fact"] == "name" and conflict["subject_key"] == "330212199011083117"
    assert conflict["authoritative_resource"] == "301001002/000002"
    assert {v["value"] for v in conflict["values"]} == {"王晓明", "王小明"}
    assert conflict["objection_id"] is not None
    objection = hub.get(
        f"/v1/objections/{conflict['objection_id']}", headers=headers(app, "gat-admin")
    )
    assert objection.status_code == 200, objection.text
    assert objection.json()["case_id"] == case["number"]


@pytest.fixture
def broken_log(app: FastAPI, hub: TestClient) -> Iterator[None]:
    """The access log cannot be written: its table is gone."""
    audit: AuditLog = app.state.audit
    with audit.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    yield
    with audit.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))


def test_when_the_access_log_fails_nothing_is_half_written(
    hub: TestClient, app: FastAPI, db: Session, broken_log: None
) -> None:
    response = submit(hub, app, key="esf-log-down")
    assert response.status_code == 503
    assert response.json()["type"].endswith("/audit-unavailable")
    assert "陈建国" not in response.text
    assert applications(db) == []


def test_the_key_is_released_when_the_log_failed(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    audit: AuditLog = app.state.audit
    with audit.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    try:
        assert submit(hub, app, key="esf-retry-me").status_code == 503
    finally:
        with audit.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
    again = submit(hub, app, key="esf-retry-me")
    assert again.status_code == 201, again.text
    assert [a.number for a in applications(db)] == [again.json()["number"]]
