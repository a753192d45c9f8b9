"""The lookup route's hot path answers as FastAPI's solver would (exchange/records/direct.py).

Each request is sent twice: once served directly, once through FastAPI's dependency solver
(a dependency override, which the direct path must never ignore, sends it there). Status,
problem body and access-log entries must be the same both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from exchange.core.errors import install_error_handlers
from exchange.core.inputs import refuse_nul
from exchange.records.direct import DirectAuditedRoute
from exchange.records.router import router as records_router
from tests.records.support import (
    ID_CARD,
    ID_ITEMS,
    SELLER,
    WINDOW,
    entries,
    grant_esf_transfer,
    headers,
    last_seq,
)


def _route() -> DirectAuditedRoute:
    return next(r for r in records_router.routes if isinstance(r, DirectAuditedRoute))


def _unrelated() -> None:
    """A dependency no route uses: overriding it only sends requests through FastAPI."""


def _body(**extra: Any) -> dict[str, Any]:
    return {"keys": [SELLER], "items": ID_ITEMS, "purpose": "330000-ZR-001", **extra}


CASES: dict[str, Callable[[FastAPI], tuple[dict[str, str], Any]]] = {
    "granted": lambda app: (headers(app, WINDOW), _body()),
    "item beyond the grant": lambda app: (headers(app, WINDOW), _body(items=["photo"])),
    "items=*": lambda app: (headers(app, WINDOW), _body(items="*")),
    "bad check digit": lambda app: (headers(app, WINDOW), _body(keys=["330106199001010011"])),
    "NUL in purpose": lambda app: (headers(app, WINDOW), _body(purpose="330000\u0000")),
    "not JSON": lambda app: (headers(app, WINDOW), b"{not json"),
    "no token": lambda app: ({}, _body()),
    "a person, not a system": lambda app: (headers(app, "zrzyt-admin"), _body()),
}


def _send(hub: TestClient, app: FastAPI, case: str) -> tuple[int, Any, list[tuple[Any, ...]]]:
    who, body = CASES[case](app)
    before = last_seq(app)
    url = f"/v1/records/{ID_CARD}/lookup"
    if isinstance(body, bytes):
        response = hub.post(url, content=body, headers={**who, "Content-Type": "application/json"})
    else:
        response = hub.post(url, json=body, headers=who)
    answer = response.json()
    for volatile in ("request_id", "instance"):
        answer.pop(volatile, None)
    for record in answer.get("records", []):
        record["provenance"].pop("retrieved_at")
    answer.pop("records_sha256", None)  # over retrieved_at
    logged = [
        (e.decision, e.outcome, e.subject_key, e.items_requested, e.items_returned, e.reason)
        for e in entries(app, before)
    ]
    return response.status_code, answer, logged


@pytest.mark.parametrize("case", list(CASES))
def test_the_direct_path_answers_and_logs_as_fastapi_would(
    hub: TestClient, app: FastAPI, case: str
) -> None:
    grant_esf_transfer(hub, app)
    route = _route()
    served = route.served_directly
    direct = _send(hub, app, case)
    assert route.served_directly == served + 1  # the hot path took it
    app.dependency_overrides[_unrelated] = _unrelated
    try:
        solved = _send(hub, app, case)
    finally:
        app.dependency_overrides.clear()
    assert route.served_directly == served + 1  # an override: FastAPI's solver took it
    assert direct == solved
    status, _, logged = direct
    if case == "granted":
        assert status == 200 and [e[0] for e in logged] == ["allowed"]
    elif case in ("no token",):
        assert status == 401 and logged == []  # no identity, no data decision
    else:
        assert status in (403, 422) and logged and all(e[0] == "denied" for e in logged)


def _mini_hub(app: FastAPI, *extra: Any) -> TestClient:
    """The records routes in an app of their own (its app-wide dependencies), on ``app``'s state."""
    mini = FastAPI(dependencies=[Depends(refuse_nul), *extra])
    mini.state = app.state  # the running hub's audit log, policy and connectors
    install_error_handlers(mini)
    mini.include_router(records_router)
    return TestClient(mini)


def test_an_app_wide_dependency_the_direct_path_does_not_know_sends_it_through_fastapi(
    hub: TestClient, app: FastAPI
) -> None:
    grant_esf_transfer(hub, app)
    seen: list[str] = []

    def stamp(request: Request) -> None:
        seen.append(request.url.path)

    route = _route()
    url, body = f"/v1/records/{ID_CARD}/lookup", _body()
    served = route.served_directly
    response = _mini_hub(app).post(url, json=body, headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    assert route.served_directly == served + 1  # the known tree: served directly

    response = _mini_hub(app, Depends(stamp)).post(url, json=body, headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    assert seen == [url]  # the unknown dependency ran: FastAPI's solver served it
    assert route.served_directly == served + 1
