"""Input no database can hold is a 4xx naming the field, not a 500: huge ids and U+0000.

Regression tests of the two bug classes the API fuzzer found (exchange/core/inputs.py): an
id past its column (2**70; 2**31 for an ``integer`` id, which SQLite alone would take) and
a NUL character anywhere in the input, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.demo.sources import cast
from tests.api.conftest import Callers
from tests.records.support import HOUSEHOLD, entries, last_seq

HUGE = 2**70
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1

# (method, URL with {} for the id, its parameter, caller, JSON body, the column's maximum)
ID_ROUTES: list[tuple[str, str, str, str, dict[str, Any] | None, int]] = [
    ("GET", "/v1/grants/{}", "grant_id", "admin", None, INT32_MAX),
    ("POST", "/v1/grants/{}/approve", "grant_id", "admin", {}, INT32_MAX),
    ("POST", "/v1/grants/{}/refuse", "grant_id", "admin", {"reason": "不符合"}, INT32_MAX),
    ("POST", "/v1/grants/{}/revoke", "grant_id", "admin", {"reason": "不符合"}, INT32_MAX),
    ("POST", "/v1/grants/{}/recertify", "grant_id", "admin", None, INT32_MAX),
    ("GET", "/v1/objections/{}", "objection_id", "admin", None, INT32_MAX),
    (
        "POST",
        "/v1/objections/{}/answer",
        "objection_id",
        "admin",
        {"answer": "corrected"},
        INT32_MAX,
    ),
    ("POST", "/v1/objections/{}/close", "objection_id", "admin", None, INT32_MAX),
    ("GET", "/v1/tracker/objections/{}", "objection_id", "citizen", None, INT32_MAX),
    ("POST", "/v1/tracker/objections/{}/close", "objection_id", "citizen", None, INT32_MAX),
    ("POST", "/v1/tasks/{}/decision", "part_id", "backoffice", {"decision": "approve"}, INT32_MAX),
    ("GET", "/v1/tracker/accesses/{}", "seq", "citizen", None, INT64_MAX),
    ("GET", "/v1/audit/entries/{}", "seq", "admin", None, INT64_MAX),
]


@pytest.fixture(scope="module")
def hub(fuzz_app: tuple[FastAPI, Callers]) -> TestClient:
    """A client of the demo hub (bound and granted), on SQLite and PostgreSQL."""
    return TestClient(fuzz_app[0], raise_server_exceptions=False)


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("method", "url", "param", "who", "body", "largest"),
    ID_ROUTES,
    ids=[f"{m} {u}" for m, u, *_ in ID_ROUTES],
)
def test_an_id_past_its_column_is_422_naming_the_parameter(
    hub: TestClient,
    callers: Callers,
    method: str,
    url: str,
    param: str,
    who: str,
    body: dict[str, Any] | None,
    largest: int,
) -> None:
    headers = getattr(callers, who)
    for value in (HUGE, largest + 1, 0, -1):
        response = hub.request(method, url.format(value), json=body, headers=headers)
        assert param in _fields(response), value
    # The largest id the column holds is still looked up: no such row, 404.
    if method == "GET":
        assert hub.get(url.format(largest), headers=headers).status_code == 404


def test_a_checkpoint_cursor_past_bigint_is_422(hub: TestClient, callers: Callers) -> None:
    url = "/v1/audit/checkpoints"
    assert _fields(hub.get(url, params={"after": HUGE}, headers=callers.admin)) == ["after"]
    assert hub.get(url, params={"after": INT64_MAX}, headers=callers.admin).json() == []


def test_a_sequence_number_in_a_body_past_bigint_is_422(hub: TestClient, callers: Callers) -> None:
    citizen = {"seq": HUGE, "items": ["name"], "description": "地址不对"}
    response = hub.post("/v1/tracker/objections", json=citizen, headers=callers.citizen)
    assert _fields(response) == ["seq"]
    department = {
        "resource_code": HOUSEHOLD,
        "key": cast.SELLER_ID,
        "items": ["name"],
        "description": "地址不对",
        "audit_seq": HUGE,
    }
    response = hub.post("/v1/objections", json=department, headers=callers.window)
    assert _fields(response) == ["audit_seq"]


def test_a_nul_in_a_department_name_is_422_and_nothing_is_written(
    hub: TestClient, callers: Callers
) -> None:
    body = {"code": "zj-nul-test", "name": "浙江省\x00测试厅"}
    response = hub.post("/v1/departments", json=body, headers=callers.admin)
    assert _fields(response) == ["name"]
    assert response.json()["errors"][0]["message"] == "must not contain the NUL character (U+0000)"
    assert hub.get("/v1/departments/zj-nul-test", headers=callers.admin).status_code == 404


@pytest.mark.parametrize(
    "name", ["department", "system", "resource", "subject", "purpose", "case_id"]
)
def test_a_nul_in_an_audit_search_filter_is_422_naming_it(
    hub: TestClient, callers: Callers, name: str
) -> None:
    response = hub.get("/v1/audit/entries", params={name: "zj\x00"}, headers=callers.admin)
    assert _fields(response) == [name]


def test_a_nul_anywhere_else_is_named_too(hub: TestClient, callers: Callers) -> None:
    # A path parameter, and nested body values and keys (named like validation errors).
    assert _fields(hub.get("/v1/departments/zj%00gat", headers=callers.admin)) == ["code"]
    body = {"purposes": ["330000-ZR-001", "x\x00"], "extra": {"k\x00": 1}}
    response = hub.post("/v1/grants", json=body, headers=callers.admin)
    assert _fields(response) == ["purposes[1]", "extra.k\\u0000"]


def test_a_nul_in_a_record_pull_is_422_and_logged_as_denied(
    hub: TestClient, fuzz_app: tuple[FastAPI, Callers]
) -> None:
    app, callers = fuzz_app
    before = last_seq(app)
    query = {"key": cast.SELLER_ID, "items": "name", "purpose": "330000-ZR-001\x00"}
    response = hub.get(f"/v1/records/{HOUSEHOLD}", params=query, headers=callers.window)
    assert _fields(response) == ["purpose"]
    (entry,) = entries(app, before)
    assert (entry.decision, entry.outcome, entry.resource_code) == ("denied", 422, HOUSEHOLD)
    assert "purpose: must not contain the NUL character" in (entry.reason or "")
    # In the path: the logged resource code holds U+FFFD where the NUL was.
    before = last_seq(app)
    response = hub.get("/v1/records/301001001%00/000001", params=query, headers=callers.window)
    assert "code" in _fields(response)
    (entry,) = entries(app, before)
    assert entry.resource_code == "301001001\ufffd/000001"


def test_the_token_endpoint_answers_a_nul_in_oauth_format(hub: TestClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "not-a-jwt",
        "client_id": "zj-zrzyt\x00window",
    }
    response = hub.post("/oauth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "client_id" in response.json()["error_description"]
    # A NUL inside the assertion's (unverified) issuer is never looked up either.
    now = int(time.time())
    claims = {"iss": "zj\x00", "sub": "zj\x00", "aud": "x", "iat": now, "exp": now + 60, "jti": "1"}
    key = ec.generate_private_key(ec.SECP256R1())
    form.update(client_id="", client_assertion=jwt.encode(claims, key, algorithm="ES256"))
    response = hub.post("/oauth/token", data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_nul_in_a_console_form_is_refused(hub: TestClient) -> None:
    response = hub.post("/console/login", data={"username": "admin\x00", "password": "x"})
    assert response.status_code == 422
    assert "username" in response.text
