"""The cap on concurrent pulls per provider department: a full department fails fast (503)."""

from __future__ import annotations

import threading
import time

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.bindings.pool import ConnectorPool
from faults import setup
from faults.proxy import BackgroundProxy
from faults.traffic import Source


def _pull(client: TestClient, code: str, headers: dict[str, str], purpose: str) -> httpx.Response:
    body = {"keys": [setup.KEY], "items": list(setup.ITEMS), "purpose": purpose}
    return client.post(f"/v1/records/{code}/lookup", json=body, headers=headers)


def test_a_department_with_all_slots_busy_answers_503_at_once(
    proxied_hub: TestClient,
    app: FastAPI,
    proxies: dict[str, BackgroundProxy],
    sources: list[Source],
    window_headers: dict[str, str],
) -> None:
    pool: ConnectorPool = app.state.connector_pool
    pool._settings = pool._settings.model_copy(
        update={"provider_max_concurrency": 1, "provider_max_waiting": 0}
    )
    slow, other = (s.resource for s in sources)  # two resources of 人社厅
    proxies[slow].set_mode("timeout")  # its one call will hold 人社厅's only slot
    held: dict[str, httpx.Response] = {}
    worker = threading.Thread(
        target=lambda: held.update(r=_pull(proxied_hub, slow, window_headers, setup.PURPOSE))
    )
    worker.start()
    limit = pool.provider_limit(setup.PROVIDER)
    deadline = time.monotonic() + 5
    while limit.in_flight < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert limit.in_flight == 1
    started = time.monotonic()
    refused = _pull(proxied_hub, other, window_headers, setup.PURPOSE)
    assert time.monotonic() - started < 1.0  # failed fast, did not wait for the slot
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["source_reason"] == "overloaded"
    assert "provider zj-rlsbt" in refused.json()["detail"]
    worker.join(timeout=10)
    assert held["r"].status_code == 503  # the source timed out
    proxies[slow].set_mode("pass")
    assert _pull(proxied_hub, other, window_headers, setup.PURPOSE).status_code == 200


def test_the_connectors_of_one_department_share_its_limit(
    proxied_hub: TestClient, app: FastAPI, sources: list[Source], window_headers: dict[str, str]
) -> None:
    for source in sources:
        assert _pull(proxied_hub, source.resource, window_headers, setup.PURPOSE).status_code == 200
    cached = app.state.connector_pool.cached()
    first, second = (cached[s.resource] for s in sources)
    assert first.provider == second.provider == setup.PROVIDER
    assert first.provider_limit is second.provider_limit
    assert first.provider_limit is not app.state.connector_pool.provider_limit("zj-gat")
