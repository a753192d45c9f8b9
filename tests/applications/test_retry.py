"""Background retries of unavailable materials: attached when the source is back, bounded,
and never retried twice at once (two hub processes share the database)."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from exchange.applications import retry
from exchange.core.db import utcnow
from exchange.core.settings import Settings, get_settings
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import Sources
from tests.applications.core_support import (
    FaultyDepartment,
    entries,
    faulty_department,
    hub,
    hub_settings,
    last_seq,
    material,
    submit,
)
from tests.records.support import headers

__all__ = ["hub"]

INSURANCE = "buyer_social_insurance"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A short retry schedule (1 s, then 2 s), no background poller."""
    return hub_settings(
        database_url,
        tmp_path,
        application_retry_schedule_seconds=[1, 2],
        application_pull_timeout_seconds=2.0,
        application_budget_seconds=4.0,
    )


@pytest.fixture
def faulty(
    app: FastAPI,
    hub: TestClient,
    demo_bound: Settings,
    demo_sources: Sources,
    demo_department: HttpDepartment,
) -> Iterator[FaultyDepartment]:
    """The HTTP department (人社) behind a proxy that is down for now."""
    with faulty_department(app, demo_bound, demo_sources, demo_department) as proxy:
        proxy.mode = "status"
        yield proxy


def _run_due(client: TestClient, app: FastAPI, seconds_later: float) -> retry.RetryRun:
    """Run one retry round in the app's own event loop, as if ``seconds_later`` had passed."""
    return _run_at(client, app, utcnow() + timedelta(seconds=seconds_later))


def _run_at(client: TestClient, app: FastAPI, now: datetime) -> retry.RetryRun:
    """Run one retry round in the app's own event loop, as if the time were ``now``."""
    call = functools.partial(retry.run_due, app.state, now=now)
    result: retry.RetryRun = client.portal.call(call)  # type: ignore[union-attr]
    return result


def _case(client: TestClient, app: FastAPI, number: str) -> dict[str, Any]:
    response = client.get(f"/v1/applications/{number}", headers=headers(app, "zj-zrzyt-window"))
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


def test_a_material_is_attached_when_its_source_is_back(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    case = submit(hub, app).json()
    number = case["number"]
    insurance = material(case, INSURANCE)
    assert insurance["status"] == "unavailable"
    # Not due just before its time (read from the case: a loaded machine may take more
    # than the 1 s of the schedule between the attempt and this line).
    due = datetime.fromisoformat(insurance["next_attempt_at"])
    assert _run_at(hub, app, due - timedelta(milliseconds=500)).claimed == 0
    faulty.mode = "ok"
    before = last_seq(app)
    run = _run_due(hub, app, 1.5)
    assert run.claimed >= 1 and run.outcomes.get("fetched", 0) >= 1
    attached = material(_case(hub, app, number), INSURANCE)
    assert attached["status"] == "fetched" and attached["attempts"] == 2
    assert attached["evidence"]["name"] == "王晓明"
    assert attached["next_attempt_at"] is None and attached["reason"] is None
    (entry,) = [e for e in entries(app, before) if e.resource_code == "306001001/000001"]
    assert entry.case_id == number and entry.system == "zj-zrzyt-window"
    assert entry.seq == attached["audit_seq"] and entry.response_hash == attached["evidence_sha256"]
    events = _case(hub, app, number)["events"]
    assert events[-1]["action"] == "material_attached" and events[-1]["actor"] == "hub:retry"
    assert _run_due(hub, app, 3600).due == 0  # nothing left to do


def test_after_the_last_try_the_applicant_brings_it(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    number = submit(hub, app).json()["number"]
    first = _run_due(hub, app, 1.5)
    assert first.outcomes.get("unavailable", 0) >= 1
    still = material(_case(hub, app, number), INSURANCE)
    assert still["status"] == "unavailable" and still["attempts"] == 2
    last = _run_due(hub, app, 10)
    assert last.outcomes.get("must_submit", 0) >= 1
    gave_up = material(_case(hub, app, number), INSURANCE)
    assert gave_up["status"] == "must_submit" and gave_up["attempts"] == 3
    assert "after 3 attempts" in gave_up["reason"] and gave_up["next_attempt_at"] is None
    assert _case(hub, app, number)["events"][-1]["action"] == "material_settled"
    assert _run_due(hub, app, 3600).due == 0


def test_two_rounds_at_once_retry_a_material_once(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    submit(hub, app)
    faulty.mode, faulty.hits = "ok", 0
    later = utcnow() + timedelta(seconds=1.5)

    async def both() -> list[retry.RetryRun]:
        return list(
            await asyncio.gather(
                retry.run_due(app.state, now=later), retry.run_due(app.state, now=later)
            )
        )

    runs = hub.portal.call(both)  # type: ignore[union-attr]
    # Each due material is retried by exactly one of the two rounds: the source saw one pull.
    assert sum(r.claimed for r in runs) == max(r.due for r in runs)
    assert faulty.hits == 1


def test_a_file_brought_meanwhile_is_not_overwritten(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    from tests.applications.core_support import pdf_file

    number = submit(hub, app).json()["number"]
    item = pdf_file(INSURANCE)
    del item["material"]
    window = headers(app, "zj-zrzyt-window")
    brought = hub.post(
        f"/v1/applications/{number}/materials/{INSURANCE}/files", json=item, headers=window
    )
    assert brought.status_code == 200, brought.text
    faulty.mode = "ok"
    _run_due(hub, app, 1.5)  # submitted: not retried any more
    assert material(_case(hub, app, number), INSURANCE)["status"] == "submitted"


def test_the_cli_runs_one_round(
    hub: TestClient,
    app: FastAPI,
    faulty: FaultyDepartment,
    demo_bound: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from exchange.cli import app as cli

    number = submit(hub, app).json()["number"]
    faulty.mode = "ok"
    for name, value in {
        "DATARUN_DATABASE_URL": demo_bound.database_url,
        "DATARUN_DATA_DIR": str(demo_bound.data_dir),
        "DATARUN_CONNECTOR_HTTP_ALLOWLIST": '["127.0.0.1:*"]',
        "DATARUN_CONNECTOR_FILE_ROOTS": "["
        + ",".join(f'"{p}"' for p in demo_bound.connector_file_roots)
        + "]",
        "DATARUN_APPLICATION_RETRY_POLL_SECONDS": "0",
        "DATARUN_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    # Not due yet (the schedule's first step is 1 s): wait it out, as the operator would.
    import time

    time.sleep(1.1)
    try:
        result = CliRunner().invoke(cli, ["applications", "retry"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ due, \d+ retried: fetched \d+", result.output), result.output
    assert material(_case(hub, app, number), INSURANCE)["status"] == "fetched"
