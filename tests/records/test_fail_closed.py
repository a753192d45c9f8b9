"""Fail closed: no personal data leaves unless its access-log entry is committed first.

Every route under the data prefixes (``DATA_PREFIXES``: /v1/records, later
/v1/applications) must be an ``AuditedRoute`` and carry the ``AuditedDataRoute`` marker.
``SAMPLE_CALLS`` says how to call each one with a request that returns data; a new data
route without a sample fails ``test_every_data_route_is_audited`` until one is added.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.audit.log import AuditLog
from exchange.demo.sources import cast
from exchange.records.audited import (
    DATA_PREFIXES,
    AuditedDataRoute,
    AuditedRoute,
    audit_trail,
)
from tests.applications.core_support import esf_body, pdf_file
from tests.fixtures.factories import create_department, create_system
from tests.records.support import (
    ID_CARD,
    ID_ITEMS,
    SELLER,
    TRANSFER,
    WINDOW,
    entries,
    grant_esf_transfer,
    headers,
    last_seq,
)

_FILE = {k: v for k, v in pdf_file("power_of_attorney").items() if k != "material"}
_CASE = "/v1/applications/{number}"
# (method, route path) → how to call it: a URL and a JSON body (None for GET). "{number}" in
# a URL is the number of an application (二手房交易过户) submitted for that call.
SAMPLE_CALLS: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("POST", "/v1/records/{code:path}/lookup"): (
        f"/v1/records/{ID_CARD}/lookup",
        {"keys": [SELLER], "items": ID_ITEMS, "purpose": TRANSFER},
    ),
    ("GET", "/v1/records/{code:path}"): (
        f"/v1/records/{ID_CARD}?key={SELLER}&items={','.join(ID_ITEMS)}&purpose={TRANSFER}",
        None,
    ),
    ("POST", "/v1/applications"): ("/v1/applications", esf_body()),
    ("GET", "/v1/applications"): ("/v1/applications", None),
    ("GET", _CASE): (_CASE, None),
    ("POST", _CASE + "/materials/{material}/decline"): (
        _CASE + "/materials/seller_id/decline",
        {},
    ),
    ("POST", _CASE + "/materials/{material}/files"): (
        _CASE + "/materials/power_of_attorney/files",
        _FILE,
    ),
    ("POST", _CASE + "/confirm"): (_CASE + "/confirm", None),
}
NEEDS_NUMBER = sum("{number}" in url for url, _ in SAMPLE_CALLS.values())
# What must never appear in a refusal: the seller's record as the source holds it.
PERSONAL = ["陈建国", cast.PROPERTY_ADDRESS, "sha-256"]


def _data_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Return (effective path, route) of every API route under the data prefixes."""
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if isinstance(route, APIRoute) and path.startswith(DATA_PREFIXES):
            found.append((path, route))
    return found


def _calls(path: str, route: APIRoute) -> Iterator[tuple[str, str]]:
    for method in sorted(route.methods or ()):
        yield method, path


def _dependency_calls(route: APIRoute) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            found.add(dep.call)
        stack.extend(dep.dependencies)
    return found


def _call(
    client: TestClient, app: FastAPI, method: str, path: str, numbers: list[str] | None = None
) -> Any:
    url, body = SAMPLE_CALLS[(method, path)]
    if "{number}" in url:
        assert numbers, f"{method} {path} needs an application submitted for it"
        url = url.replace("{number}", numbers.pop())
    head = {**headers(app, WINDOW), "Idempotency-Key": uuid.uuid4().hex}
    return client.request(method, url, json=body, headers=head)


def _submitted(client: TestClient, app: FastAPI, count: int) -> list[str]:
    """Submit ``count`` applications (the log must work); return their numbers."""
    numbers = []
    for _ in range(count):
        response = _call(client, app, "POST", "/v1/applications")
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    return numbers


def test_every_data_route_is_audited(hub: TestClient, app: FastAPI) -> None:
    routes = _data_routes(app)
    assert routes, "no data route found: did the records router stop being included?"
    grant_esf_transfer(hub, app)
    numbers = _submitted(hub, app, NEEDS_NUMBER)
    for route_path, route in routes:
        assert isinstance(route, AuditedRoute), f"{route_path} is not an AuditedRoute"
        assert audit_trail in _dependency_calls(route), f"{route_path} lacks AuditedDataRoute"
        assert route.openapi_extra and route.openapi_extra.get("x-datarun-audited") is True
        for method, path in _calls(route_path, route):
            assert (method, path) in SAMPLE_CALLS, f"add a sample call for {method} {path}"
            before = last_seq(app)
            response = _call(hub, app, method, path, numbers)
            assert response.status_code in (200, 201), (path, response.text)
            logged = entries(app, before)
            assert logged, f"{method} {path} answered without an access-log entry"
            body = response.json()
            if "records_sha256" in body:  # a record pull: the entry holds the records' hash
                assert logged[-1].response_hash == body["records_sha256"]
            elif method == "GET":  # a read: the entry holds the hash of the bytes sent
                assert logged[-1].response_hash == hashlib.sha256(response.content).hexdigest()
            if "number" in body:  # a case file: every entry names its case
                assert {e.case_id for e in logged} == {body["number"]}


@pytest.fixture
def numbers(hub: TestClient, app: FastAPI) -> list[str]:
    """Applications submitted while the access log still works, one per call needing one."""
    grant_esf_transfer(hub, app)
    return _submitted(hub, app, NEEDS_NUMBER)


@pytest.fixture(params=["table-gone", "dead-database"])
def broken_audit(
    request: pytest.FixtureRequest, hub: TestClient, app: FastAPI, numbers: list[str]
) -> Iterator[str]:
    """The access log cannot be written: its table is gone, or its database is unreachable."""
    kind: str = request.param
    original: AuditLog = app.state.audit
    if kind == "table-gone":
        with original.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    else:
        settings = app.state.settings.model_copy(update={"audit_append_timeout_seconds": 3})
        app.state.audit = AuditLog("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", settings)
    try:
        yield kind
    finally:
        if kind == "table-gone":
            with original.engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
        else:
            app.state.audit.close()
            app.state.audit = original


def test_no_data_leaves_when_the_access_log_cannot_be_written(
    broken_audit: str, hub: TestClient, app: FastAPI, numbers: list[str]
) -> None:
    checked = 0
    for route_path, route in _data_routes(app):
        for method, path in _calls(route_path, route):
            response = _call(hub, app, method, path, numbers)
            assert response.status_code == 503, (broken_audit, path, response.text)
            problem = response.json()
            assert problem["type"].endswith("/audit-unavailable")
            assert "records" not in problem and "values" not in problem
            for value in PERSONAL:
                assert value not in response.text, (path, value)
            assert "Records-Digest" not in response.headers
            assert response.headers["Retry-After"] == "2"  # a caller knows when to try again
            # The database's own error text (hosts, ports, table names) stays in the log.
            assert "127.0.0.1" not in problem["detail"] and "audit_entries" not in problem["detail"]
            checked += 1
    assert checked == len(SAMPLE_CALLS)
    # A refusal cannot be logged either: it is a 503 too, never an unlogged 403.
    url = f"/v1/records/{ID_CARD}/lookup"
    body = {"keys": [SELLER], "items": ["photo"], "purpose": TRANSFER}
    refused = hub.post(url, json=body, headers=headers(app, WINDOW))
    assert refused.status_code == 503


def test_the_audit_step_turns_an_unlogged_answer_into_503(app: FastAPI) -> None:
    """A data route that forgets to append cannot answer: its route class refuses it."""
    probe = APIRouter(prefix="/v1/records-probe", route_class=AuditedRoute)

    @probe.get("/forgetful")
    async def forgetful(trail: AuditedDataRoute) -> dict[str, str]:
        return {"name": "陈建国"}

    app.include_router(probe)
    with TestClient(app) as client:
        response = client.get("/v1/records-probe/forgetful", headers=_probe_headers(app))
    assert response.status_code == 503
    assert "陈建国" not in response.text
    assert "without appending" in response.json()["detail"]


def _probe_headers(app: FastAPI) -> dict[str, str]:
    """Register the window system on an empty hub and return its header."""
    with app.state.sessionmaker() as session:
        create_department(session, "zj-zrzyt", name="浙江省自然资源厅")
        create_system(session, WINDOW, department="zj-zrzyt", roles=["system"])
        session.commit()
    app.state.authorizer.reload()
    return headers(app, WINDOW)
