"""Bad objections are refused with the right status, naming what is wrong, writing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.demo.seed import SeedResult
from exchange.objections.models import DataObjection, ObjectionEvent
from tests.objections.support import answer, department_body, headers, raise_as
from tests.tracker.entries import ID_CARD, Logged, log_accesses
from tests.tracker.idp import ALICE, BAD_CHECK, Provider

SEAL = "301002001/000003"  # 印章刻制备案信息, keyed by uscc
GOOD_USCC = "91330000MA27U8X12C"


@pytest.fixture
def logged(app: FastAPI, demo_province: SeedResult) -> Logged:
    return log_accesses(app)


def _count(db: Session) -> tuple[int, int]:
    db.expire_all()
    objections = db.scalar(select(func.count()).select_from(DataObjection)) or 0
    events = db.scalar(select(func.count()).select_from(ObjectionEvent)) or 0
    return objections, events


def _post(client: TestClient, app: FastAPI, **body: Any) -> Any:
    return client.post(
        "/v1/objections", json=department_body(**body), headers=headers(app, "zj-zrzyt-window")
    )


@pytest.mark.parametrize(
    ("body", "fields", "detail"),
    [
        (
            {"resource_code": "301001002/999999"},
            ["resource_code"],
            "no resource 301001002/999999 in the catalogue",
        ),
        (
            {"items": ["name", "shoe_size", "blood_type"], "proposed_correction": None},
            ["items", "items[1]", "items[2]"],
            "resource 301001002/000002 has no item(s) shoe_size, blood_type",
        ),
        ({"items": ["name", "name"], "proposed_correction": None}, ["items[1]"], None),
        ({"items": []}, ["items", "proposed_correction.name"], None),
        ({"key": BAD_CHECK}, ["key"], None),
        ({"key": "330106198513120021"}, ["key"], None),
        ({"key_item": "name"}, ["key_item"], None),
        ({"proposed_correction": {"address": "x"}}, ["proposed_correction.address"], None),
        (
            {"resource_code": SEAL, "key": "91330000MA27U8X12X", "items": ["uscc"]}
            | {"proposed_correction": None},
            ["key"],
            None,
        ),
        ({"description": "   "}, ["description"], None),
        ({"items": ["Name!"]}, ["items[0]"], None),
        ({"unknown": 1}, ["unknown"], None),
    ],
    ids=[
        "unknown-resource",
        "unknown-items",
        "repeated-item",
        "no-items",
        "id-check-digit",
        "id-birth-date",
        "not-a-key-item",
        "correction-of-undisputed-item",
        "uscc-check-character",
        "blank-description",
        "malformed-item",
        "extra-field",
    ],
)
def test_bad_department_objections_are_422(
    client: TestClient,
    app: FastAPI,
    db: Session,
    demo_province: SeedResult,
    body: dict[str, Any],
    fields: list[str],
    detail: str | None,
) -> None:
    before = _count(db)
    response = _post(client, app, **body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert sorted({e["field"] for e in problem["errors"]}) == sorted(fields)
    if detail:
        assert detail in problem["detail"]
    assert _count(db) == before


def test_a_check_digit_failure_names_the_standard(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    problem = _post(client, app, key=BAD_CHECK).json()
    assert problem["errors"] == [
        {
            "field": "key",
            "message": "not a valid resident ID (id_number): check digit does not match (GB 11643)",
        }
    ]
    ok = _post(
        client,
        app,
        resource_code=SEAL,
        key=GOOD_USCC,
        items=["uscc"],
        proposed_correction=None,
    )
    assert ok.status_code == 201, ok.text


def test_who_may_raise(client: TestClient, app: FastAPI, demo_province: SeedResult) -> None:
    assert client.post("/v1/objections", json=department_body()).status_code == 401
    refused = client.post("/v1/objections", json=department_body(), headers=headers(app, "auditor"))
    assert refused.status_code == 403
    assert raise_as(client, app, who="zrzyt-admin")["raised_by"] == "user:zrzyt-admin"


def test_an_audit_seq_must_be_the_callers_access_to_that_record(
    client: TestClient, app: FastAPI, logged: Logged
) -> None:
    # zj-zrzyt pulled Alice's ID card in entry alice[0]: citing it is fine...
    assert raise_as(client, app, audit_seq=logged.alice[0])["audit_seq"] == logged.alice[0]
    # ...citing zj-mzt's entry, or an entry about Bob, is not.
    for seq in (logged.alice[1], logged.bob[0], 99999):
        response = _post(client, app, audit_seq=seq, items=["address"], proposed_correction=None)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "audit_seq"


def test_bad_answers(client: TestClient, app: FastAPI, demo_province: SeedResult) -> None:
    oid = raise_as(client, app)["id"]
    missing = answer(client, app, 99999, "gat-admin", answer="corrected")
    assert missing.status_code == 404
    no_reason = answer(client, app, oid, "gat-admin", answer="rejected")
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"] == [
        {"field": "reason", "message": "a rejection states its reason"}
    ]
    unknown = answer(client, app, oid, "gat-admin", answer="maybe")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "answer"
    other = answer(client, app, oid, "mzt-admin", answer="rejected", reason="不是我们的")
    assert other.status_code == 403
    assert "only the provider zj-gat's" in other.json()["detail"]
    rejected = answer(client, app, oid, "gat-admin", answer="rejected", reason="核实无误")
    assert rejected.status_code == 200
    assert answer(client, app, oid, "gat-admin", answer="corrected").status_code == 409


def test_bad_citizen_objections(
    client: TestClient, app: FastAPI, db: Session, idp: Provider, logged: Logged
) -> None:
    before = _count(db)

    def post(**body: Any) -> Any:
        payload = {"seq": logged.alice[0], "items": ["address"], "description": "地址有误"}
        payload.update(body)
        return client.post("/v1/tracker/objections", json=payload, headers=idp.bearer(ALICE))

    # Someone else's access entry, or none: 404, the same as for reading it.
    for seq in (logged.bob[0], 99999):
        response = post(seq=seq)
        assert response.status_code == 404
        assert response.json()["detail"] == f"no access entry {seq} about you"
    unknown = post(items=["address", "shoe_size"])
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith(f"resource {ID_CARD} has no item(s) shoe_size")
    assert post(items=[]).status_code == 422
    assert post(proposed_correction={"name": "x"}).status_code == 422
    assert post(seq=0).status_code == 422
    hub = headers(app, "gat-admin")
    refused = client.post(
        "/v1/tracker/objections",
        json={"seq": logged.alice[0], "items": ["address"], "description": "x"},
        headers=hub,
    )
    assert refused.status_code == 401
    assert _count(db) == before
