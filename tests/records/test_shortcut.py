"""The lookup's shortcut past routing answers as routing does (exchange/records/shortcut.py).

The first pull of an app goes through FastAPI's routing; the shortcut learns from it and
takes the later ones. Each case below is sent through both (a dependency override sends a
request through routing and FastAPI's solver), and status, problem body and access-log
entries must be the same; the one log line per request names the route either way.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from exchange.observability.metrics import HTTP_REQUESTS
from exchange.records.direct import DirectAuditedRoute
from exchange.records.shortcut import RecordsShortcut
from tests.records.both_ways import CASES, send, unrelated
from tests.records.support import WINDOW, grant_esf_transfer, headers

TEMPLATE = "/v1/records/{code}/lookup"


def value(metric: Any, **labels: str) -> float:
    """Return the current value of ``metric``'s sample with ``labels`` (0 when absent)."""
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _shortcut(app: FastAPI) -> RecordsShortcut:
    """Return the app's shortcut middleware (its stack is built on the first request)."""
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, RecordsShortcut):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, RecordsShortcut), "RecordsShortcut is not in the app's stack"
    return layer


@pytest.mark.parametrize("case", list(CASES))
def test_the_shortcut_answers_and_logs_as_routing_does(
    hub: TestClient, app: FastAPI, case: str
) -> None:
    grant_esf_transfer(hub, app)
    send(hub, app, "granted")  # the first pull: routed, and learned from
    shortcut = _shortcut(app)
    taken = shortcut.taken
    short = send(hub, app, case)
    assert shortcut.taken == taken + 1
    app.dependency_overrides[unrelated] = unrelated
    try:
        routed = send(hub, app, case)
    finally:
        app.dependency_overrides.clear()
    assert shortcut.taken == taken + 1  # an override: routing and FastAPI's solver took it
    assert short == routed


def test_other_requests_are_routed(hub: TestClient, app: FastAPI) -> None:
    grant_esf_transfer(hub, app)
    send(hub, app, "granted")
    shortcut = _shortcut(app)
    taken = shortcut.taken
    who = headers(app, WINDOW)
    # GET of one key, a path that is not a lookup, a method the route does not take.
    got = hub.get(
        "/v1/records/301001002/000002",
        params={"key": "330212199011083117", "items": "name", "purpose": "330000-ZR-001"},
        headers=who,
    )
    assert got.status_code == 200, got.text
    assert hub.post("/v1/records/301001002/000002", json={}, headers=who).status_code == 405
    assert hub.put("/v1/records/301001002/000002/lookup", json={}, headers=who).status_code == 405
    assert hub.get("/healthz").status_code == 200
    assert shortcut.taken == taken


def test_the_request_line_names_the_route_and_echoes_the_request_id(
    hub: TestClient, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    grant_esf_transfer(hub, app)
    send(hub, app, "granted")
    shortcut = _shortcut(app)
    taken = shortcut.taken
    counted = value(HTTP_REQUESTS, method="POST", route=TEMPLATE, status="200")
    with caplog.at_level(logging.INFO, logger="datarun.request"):
        response = hub.post(
            "/v1/records/301001002/000002/lookup",
            json={"keys": ["330212199011083117"], "items": ["name"], "purpose": "330000-ZR-001"},
            headers={**headers(app, WINDOW), "X-Request-ID": "shortcut-check-1"},
        )
    assert response.status_code == 200, response.text
    assert shortcut.taken == taken + 1
    assert response.headers["x-request-id"] == "shortcut-check-1"
    assert response.json()["request_id"] == "shortcut-check-1"
    lines = [r.getMessage() for r in caplog.records if r.name == "datarun.request"]
    assert any(f"POST {TEMPLATE} -> 200" in line for line in lines), lines
    after = value(HTTP_REQUESTS, method="POST", route=TEMPLATE, status="200")
    assert after == counted + 1  # the metrics name the route too


def test_no_route_before_the_lookup_can_take_a_lookup_path(app: FastAPI) -> None:
    """The shortcut reuses routing's first choice; every earlier route must stay out of
    /v1/records (the records router is included first for that)."""
    earlier: list[str] = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, DirectAuditedRoute):
            break
        path = getattr(route, "path", "")
        earlier.append(path)
    else:
        pytest.fail("the lookup route is not in the app")
    for path in earlier:
        first = path.strip("/").split("/")[0]
        assert first and "{" not in first, path  # no catch-all at the root
        assert not path.startswith("/v1/records"), path
