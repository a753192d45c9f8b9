"""Per-system rate limits: 429 problem+json with Retry-After, per caller, shared via Redis."""

from __future__ import annotations

import logging
import uuid

import pytest
from fastapi import FastAPI

from tests.fixtures.auth import bearer_for
from tests.fixtures.servers import server_url
from tests.limits.conftest import Hub


def _system(app: FastAPI, client_id: str) -> dict[str, str]:
    with app.state.sessionmaker() as session:
        return bearer_for(
            app, session, client_id, department="zj-gat", roles=["system"], kind="system"
        )


def test_a_system_over_its_budget_gets_429_and_others_do_not(hubs: Hub) -> None:
    client, app = hubs(
        rate_limit_per_second=0.5, rate_limit_burst=3, rate_limit_overrides={"zj-bulk": (0, 1)}
    )
    busy, calm, bulk = (_system(app, c) for c in ("zj-busy", "zj-calm", "zj-bulk"))
    assert [client.get("/v1/me", headers=busy).status_code for _ in range(3)] == [200] * 3
    refused = client.get("/v1/me", headers={**busy, "X-Request-Id": "rl-1"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-request-id"] == "rl-1"
    problem = refused.json()
    assert problem["type"].endswith("/rate-limited") and problem["status"] == 429
    assert "zj-busy" in problem["detail"] and problem["request_id"] == "rl-1"
    assert client.get("/v1/me", headers=calm).status_code == 200  # a budget per system
    assert all(client.get("/v1/me", headers=bulk).status_code == 200 for _ in range(6))  # 0: off
    assert all(client.get("/healthz").status_code == 200 for _ in range(6))  # probes: never
    assert client.get("/v1/me").status_code == 401  # no token: the route's 401, not a 429


def test_redis_makes_every_process_share_one_budget(hubs: Hub) -> None:
    url = server_url("DATARUN_TEST_REDIS_URL")
    shared = {"redis_url": url, "rate_limit_per_second": 0.2, "rate_limit_burst": 3}
    one, app_one = hubs(**shared)
    two, _ = hubs(**shared)
    caller = _system(app_one, f"zj-rl-{uuid.uuid4().hex[:8]}")  # a fresh bucket in Redis
    assert one.get("/v1/me", headers=caller).status_code == 200
    assert two.get("/v1/me", headers=caller).status_code == 200
    assert one.get("/v1/me", headers=caller).status_code == 200
    # Three spent between the two: the burst is gone in both.
    assert two.get("/v1/me", headers=caller).status_code == 429
    assert one.get("/v1/me", headers=caller).status_code == 429


def test_without_redis_each_process_keeps_limiting_on_its_own(
    hubs: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    client, app = hubs(
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        rate_limit_backend="redis",
        rate_limit_per_second=0.5,
        rate_limit_burst=2,
    )
    caller = _system(app, "zj-fallback")
    with caplog.at_level(logging.WARNING, logger="datarun.limits"):
        codes = [client.get("/v1/me", headers=caller).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert "using this process's own buckets" in caplog.text
