"""Bad grant requests get a 4xx naming the field, and write nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalogs.resources.schemas import ResourceCreate
from catalogs.resources.service import create_resource
from exchange.demo.seed import SeedResult
from exchange.grants.rules import add_years
from tests.grants.support import (
    ID_CARD,
    file_request,
    grant_count,
    headers,
    request_body,
    today,
)


def _post(client: TestClient, app: FastAPI, who: str = "zrzyt-admin", **body: Any) -> Any:
    return client.post("/v1/grants", json=request_body(**body), headers=headers(app, who))


BAD: list[tuple[str, dict[str, Any], list[str], str]] = [
    (
        "items not in the resource",
        {"items": ["id_number", "salary", "blood_type"]},
        ["items", "items[1]", "items[2]"],
        "salary, blood_type",
    ),
    ("no items", {"items": []}, ["items"], "items"),
    ("an item twice", {"items": ["name", "name"]}, ["items[1]"], "twice"),
    (
        "a purpose that is not a service item",
        {"purposes": ["330000-ZR-001", "buy-a-house"]},
        ["purposes[1]"],
        "buy-a-house",
    ),
    ("no purpose", {"purposes": []}, ["purposes"], "purposes"),
    (
        "end before start",
        {
            "starts_on": (today() + timedelta(days=20)).isoformat(),
            "ends_on": (today() + timedelta(days=10)).isoformat(),
        },
        ["ends_on"],
        "before starts_on",
    ),
    ("no need stated", {"need": "  "}, ["need"], "need"),
    ("an unknown consumer department", {"consumer": "zj-nowhere"}, ["consumer"], "zj-nowhere"),
    ("an unknown system", {"consumer_system": "no-such-system"}, ["consumer_system"], "no system"),
    (
        "a system of another department",
        {"consumer_system": "zj-gat-backoffice"},
        ["consumer_system"],
        "belongs to zj-gat",
    ),
    ("an unknown resource", {"resource": "399001/000001"}, ["resource"], "399001/000001"),
    ("an unknown field", {"priority": "high"}, ["priority"], "priority"),
]


def test_bad_request_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    # One seeded province for every case: each must fail alone and leave no row behind.
    for case, body, fields, words in BAD:
        response = _post(client, app, **body)
        assert response.status_code == 422, (case, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in problem["errors"]] == fields, case
        found = words in problem["detail"] or any(words in e["message"] for e in problem["errors"])
        assert found, (case, problem)
    assert grant_count(db) == 0


def test_period_beyond_the_maximum_is_422(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    start = today()
    longest = add_years(start, app.state.settings.grant_max_years)
    response = _post(
        client,
        app,
        starts_on=start.isoformat(),
        ends_on=(longest + timedelta(days=1)).isoformat(),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "ends_on"
    assert "3 years" in response.json()["detail"]
    ok = _post(client, app, starts_on=start.isoformat(), ends_on=longest.isoformat())
    assert ok.status_code == 201, ok.text


def test_a_period_already_over_is_422(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    past = today() - timedelta(days=10)
    response = _post(
        client, app, starts_on=(past - timedelta(days=30)).isoformat(), ends_on=past.isoformat()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ends_on"


def test_unpublished_resource_cannot_be_requested(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    draft = ResourceCreate(
        code="301009001/000009",
        name="草稿资源",
        provider="zj-gat",
        summary="draft",
        format="database",
        items=[{"code": "id_number", "name": "公民身份号码", "data_type": "C"}],  # type: ignore[list-item]
        share_type="unconditional",
        share_method="api",
        open_type="closed",
        update_cycle="daily",
    )
    create_resource(db, data=draft)
    db.commit()
    # Another department cannot see a draft: the answer does not reveal it exists.
    hidden = _post(client, app, resource=draft.code, items=["id_number"])
    assert hidden.status_code == 422
    assert "no resource" in hidden.json()["detail"]
    # Its own provider sees it, and is told it is not published.
    own = _post(client, app, "gat-admin", resource=draft.code, items=["id_number"])
    assert own.status_code == 422
    assert "draft" in own.json()["detail"]
    assert grant_count(db) == 0


def test_who_may_request(client: TestClient, app: FastAPI, demo_province: SeedResult) -> None:
    # Not the auditor, and not one department for another.
    assert _post(client, app, "auditor", consumer="zj-zrzyt").status_code == 403
    assert _post(client, app, "mzt-admin", consumer="zj-zrzyt").status_code == 403
    # A system requests on its own behalf, never for another system.
    mine = _post(client, app, "zj-zrzyt-window")
    assert mine.status_code == 201, mine.text
    assert mine.json()["consumer_system"] == "zj-zrzyt-window"
    assert mine.json()["requested_by"] == "zj-zrzyt-window"
    other = _post(client, app, "zj-zrzyt-window", consumer_system="zj-zrzyt-backoffice")
    assert other.status_code == 403
    # The department's admin may request for one of its systems; a province admin for anyone.
    for_system = _post(client, app, consumer_system="zj-zrzyt-backoffice")
    assert for_system.status_code == 201, for_system.text
    assert for_system.json()["consumer_system"] == "zj-zrzyt-backoffice"
    province = _post(client, app, "province-admin", consumer="zj-zrzyt")
    assert province.status_code == 201, province.text
    assert province.json()["consumer"] == "zj-zrzyt"


def test_a_second_pending_request_for_the_same_purpose_is_409(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    first = file_request(client, app)
    again = _post(client, app, items=["valid_until"])
    assert again.status_code == 409
    assert again.json()["grant_id"] == first["id"]
    assert again.json()["status"] == 409
    # A different purpose is a different request.
    assert _post(client, app, purposes=["esf-transfer"]).status_code == 201


def test_unknown_grant_is_404(client: TestClient, app: FastAPI, demo_province: SeedResult) -> None:
    gat = headers(app, "gat-admin")
    assert client.get("/v1/grants/999", headers=gat).status_code == 404
    assert client.post("/v1/grants/999/approve", json={}, headers=gat).status_code == 404
    assert client.post("/v1/grants/abc/approve", json={}, headers=gat).status_code == 422


def test_requests_need_a_token(client: TestClient, demo_province: SeedResult) -> None:
    assert client.post("/v1/grants", json=request_body()).status_code == 401
    assert client.get("/v1/grants").status_code == 401


def test_resource_code_in_the_body_names_the_resource(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    assert grant["resource"] == ID_CARD
    assert grant["resource_name"] == "居民身份证信息"
