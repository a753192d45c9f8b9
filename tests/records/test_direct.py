"""The lookup route's hot path answers as FastAPI's solver would (exchange/records/direct.py).

Each request is sent twice: once served directly, once through FastAPI's dependency solver
(a dependency override, which the direct path must never ignore, sends it there). Status,
problem body and access-log entries must be the same both ways.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from exchange.core.errors import install_error_handlers
from exchange.core.inputs import refuse_nul
from exchange.records.direct import DirectAuditedRoute
from exchange.records.router import router as records_router
from tests.records.both_ways import CASES, lookup_body, send, unrelated
from tests.records.support import ID_CARD, WINDOW, grant_esf_transfer, headers


def _route() -> DirectAuditedRoute:
    return next(r for r in records_router.routes if isinstance(r, DirectAuditedRoute))


@pytest.mark.parametrize("case", list(CASES))
def test_the_direct_path_answers_and_logs_as_fastapi_would(
    hub: TestClient, app: FastAPI, case: str
) -> None:
    grant_esf_transfer(hub, app)
    route = _route()
    served = route.served_directly
    direct = send(hub, app, case)
    assert route.served_directly == served + 1  # the hot path took it
    app.dependency_overrides[unrelated] = unrelated
    try:
        solved = send(hub, app, case)
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
    url, body = f"/v1/records/{ID_CARD}/lookup", lookup_body()
    served = route.served_directly
    response = _mini_hub(app).post(url, json=body, headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    assert route.served_directly == served + 1  # the known tree: served directly

    response = _mini_hub(app, Depends(stamp)).post(url, json=body, headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    assert seen == [url]  # the unknown dependency ran: FastAPI's solver served it
    assert route.served_directly == served + 1
