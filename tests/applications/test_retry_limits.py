"""Background retries stay in their lane: few per source at once, and a short claim.

After an outage many materials of one source fall due together. The retries of one source
run at most ``application_retry_per_source`` at a time, so the provider's connector slots
stay free for live pulls; and a retry cut by a dying process is tried again after the
pull's deadline plus a margin, not a minute later.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalogs.resources.models import Resource
from exchange.applications import fanout, retry
from exchange.applications.models import ApplicationMaterial
from exchange.bindings.models import ConnectorBinding
from exchange.core.db import utcnow
from exchange.core.settings import Settings
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import Sources
from tests.applications.core_support import (
    SOCIAL_INSURANCE,
    FaultyDepartment,
    esf_body,
    faulty_department,
    hub,
    hub_settings,
    material,
    submit,
)

__all__ = ["hub"]

INSURANCE = "buyer_social_insurance"
PULL_TIMEOUT = 10.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Two retries of a source at once; the 人社 provider takes three calls, queues none."""
    return hub_settings(
        database_url,
        tmp_path,
        application_retry_schedule_seconds=[1, 2],
        application_retry_per_source=2,
        application_pull_timeout_seconds=PULL_TIMEOUT,
        application_budget_seconds=12.0,
        provider_max_concurrency=3,
        provider_max_waiting=0,
    )


@pytest.fixture
def faulty(
    app: FastAPI,
    hub: TestClient,
    demo_bound: Settings,
    demo_sources: Sources,
    demo_department: HttpDepartment,
) -> Iterator[FaultyDepartment]:
    """The HTTP department (人社) behind a proxy that is down for now; slow calls are waited
    for (the binding's deadline and HTTP timeout are long), so only the limits turn away."""
    with faulty_department(app, demo_bound, demo_sources, demo_department) as proxy:
        with app.state.sessionmaker() as session:
            binding = session.scalars(
                select(ConnectorBinding)
                .join(Resource, Resource.id == ConnectorBinding.resource_id)
                .where(Resource.code == SOCIAL_INSURANCE)
            ).one()
            binding.resilience = {"deadline_seconds": 20.0, "retries": 0, "breaker_failures": 1000}
            binding.config = {**binding.config, "timeout_seconds": 20.0}
            session.commit()
        app.state.connector_pool.invalidate(SOCIAL_INSURANCE)
        proxy.mode = "status"
        yield proxy
        proxy.gate.set()


def _outage(hub: TestClient, app: FastAPI, n: int) -> list[str]:
    """Submit ``n`` applications while 人社 is down; return their numbers."""
    numbers = []
    for _ in range(n):
        case = submit(hub, app).json()
        assert material(case, INSURANCE)["status"] == "unavailable"
        numbers.append(case["number"])
    return numbers


def _insurance(app: FastAPI) -> list[ApplicationMaterial]:
    with app.state.sessionmaker() as session:
        query = select(ApplicationMaterial).where(ApplicationMaterial.material_code == INSURANCE)
        return list(session.scalars(query.order_by(ApplicationMaterial.id)))


def _run_due(
    hub: TestClient, app: FastAPI, seconds_later: float = 0, *, at: datetime | None = None
) -> retry.RetryRun:
    later = at or utcnow() + timedelta(seconds=seconds_later)
    call = functools.partial(retry.run_due, app.state, now=later)
    result: retry.RetryRun = hub.portal.call(call)  # type: ignore[union-attr]
    return result


def test_retries_of_one_source_run_two_at_a_time(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    _outage(hub, app, 5)
    faulty.mode, faulty.delay, faulty.peak = "slow", 0.5, 0
    run = _run_due(hub, app, 1.5)
    assert run.claimed == 5 and run.outcomes == {"fetched": 5}
    assert faulty.peak == 2  # never more than the setting, though five were due at once
    assert {m.status for m in _insurance(app)} == {"fetched"}


def test_a_live_pull_gets_through_while_retries_wait_for_their_source(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment
) -> None:
    _outage(hub, app, 6)
    # The source is back but slow for the buyer's records: the retries hold their calls.
    faulty.mode, faulty.gate_key, faulty.peak = "gate", cast.BUYER_ID, 0
    later = utcnow() + timedelta(seconds=1.5)
    running: Future[Any] = hub.portal.start_task_soon(  # type: ignore[union-attr]
        functools.partial(retry.run_due, app.state, now=later)
    )
    deadline = time.monotonic() + 30
    while faulty.held < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert faulty.held == 2
    # A window submits now: its pull of 人社 (another person) is not turned away.
    body = esf_body()
    body["material_keys"][INSURANCE] = cast.SELLER_ID
    live = submit(hub, app, body)
    assert live.status_code == 201, live.text
    pulled = material(live.json(), INSURANCE)
    assert pulled["status"] != "unavailable", pulled["reason"]
    assert faulty.held == 2  # the retries still wait: no third was let in
    faulty.gate.set()
    run: retry.RetryRun = running.result(timeout=60)
    assert run.claimed == 6 and run.outcomes == {"fetched": 6}
    assert faulty.peak <= 3


def test_a_retry_cut_by_a_dying_process_is_due_again_after_the_pull_deadline(
    hub: TestClient, app: FastAPI, faulty: FaultyDepartment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _outage(hub, app, 1)

    async def dies(*args: Any, **kwargs: Any) -> Any:  # claimed, then nothing more written
        raise RuntimeError("the process died in the middle of the retry")

    later = utcnow() + timedelta(seconds=1.5)
    with monkeypatch.context() as patch:
        patch.setattr(fanout, "pull_one", dies)
        assert _run_due(hub, app, at=later).outcomes == {"error": 1}
    (cut,) = _insurance(app)
    assert cut.status == "unavailable" and cut.attempts == 2
    assert cut.next_attempt_at is not None
    # Held for the pull's deadline plus a margin (not a minute more, as it used to be).
    lease = retry.lease_seconds(PULL_TIMEOUT)
    assert lease == PULL_TIMEOUT + retry.LEASE_MARGIN_SECONDS
    assert lease <= (cut.next_attempt_at - later).total_seconds() < lease + 5
    # Within the lease nobody retries it; once it has run out, the next round does.
    assert _run_due(hub, app, at=cut.next_attempt_at - timedelta(seconds=1)).due == 0
    faulty.mode = "ok"
    run = _run_due(hub, app, at=cut.next_attempt_at + timedelta(seconds=0.1))
    assert run.claimed == 1 and run.outcomes == {"fetched": 1}
    assert [m.status for m in _insurance(app)] == ["fetched"]
