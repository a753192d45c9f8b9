"""Bad catalogue input: a 4xx problem naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from tests.catalogs.test_resources import HUKOU_BODY, URL, resource_body

ITEM = HUKOU_BODY["items"][0]


def _counts(db: Session) -> tuple[int, ...]:
    db.rollback()  # see the app's committed state
    return tuple(
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Resource, ResourceItem, ResourceVersion)
    )


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("bad code", resource_body(code="3010/1"), "code"),
    ("class 4 code", resource_body(code="401001/000001"), "code"),
    ("unknown field", resource_body(colour="red"), "colour"),
    ("wrong format enum", resource_body(format="pdf"), "format"),
    ("wrong share enum", resource_body(share_type="sometimes"), "share_type"),
    ("wrong data type", resource_body(items=[{**ITEM, "data_type": "X"}]), "items[0].data_type"),
    ("bad sensitivity", resource_body(items=[{**ITEM, "sensitivity": 5}]), "items[0].sensitivity"),
    ("bad item code", resource_body(items=[{**ITEM, "code": "ID Number"}]), "items[0].code"),
    ("unknown item field", resource_body(items=[{**ITEM, "secret": 1}]), "items[0].secret"),
    ("no items", resource_body(items=[]), "items"),
    (
        "duplicate item codes",
        resource_body(items=[ITEM, {**ITEM, "name": "又一个"}]),
        "items[1].code",
    ),
    ("none without legal basis", resource_body(share_type="none", legal_basis=None), "legal_basis"),
    ("conditional without condition", resource_body(share_condition="  "), "share_condition"),
    (
        "bad related code",
        resource_body(related_codes=["301001001/000002", "x/1"]),
        "related_codes[1]",
    ),
    ("bad date", resource_body(published_on="2026-13-45"), "published_on"),
    ("missing name", {k: v for k, v in HUKOU_BODY.items() if k != "name"}, "name"),
    ("wrong type", resource_body(items="id_number"), "items"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_names_the_field_and_writes_nothing(
    client: TestClient, db: Session, auth: Any, case: str, body: dict[str, Any], field: str
) -> None:
    headers = auth("dsj-admin", department="zj-gat", roles=["province_admin"])
    before = _counts(db)
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _counts(db) == before


def test_unknown_provider_is_422(client: TestClient, db: Session, auth: Any) -> None:
    headers = auth("dsj-admin", department="zj-gat", roles=["province_admin"])
    response = client.post(URL, json=resource_body(provider="zj-nowhere"), headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "provider"
    assert _counts(db) == (0, 0, 0)


def test_malformed_json_is_422_naming_the_body(client: TestClient, db: Session, auth: Any) -> None:
    headers = auth("dsj-admin", department="zj-gat", roles=["province_admin"])
    response = client.post(
        URL,
        content=b'{"code": "301001001/000001",',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert _counts(db) == (0, 0, 0)


def test_bad_update_writes_nothing(client: TestClient, db: Session, auth: Any) -> None:
    headers = auth("dsj-admin", department="zj-gat", roles=["province_admin"])
    assert client.post(URL, json=resource_body(), headers=headers).status_code == 201
    before = _counts(db)
    for body, field in [
        ({"items": [ITEM, ITEM]}, "items[1].code"),
        ({"items": []}, "items"),
        ({"provider": "zj-nowhere"}, "provider"),
        ({"legal_basis": None}, "legal_basis"),
        ({"update_cycle": "hourly"}, "update_cycle"),
    ]:
        response = client.patch(f"{URL}/{HUKOU_BODY['code']}", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]]
    bad_status = client.post(
        f"{URL}/{HUKOU_BODY['code']}/status", json={"status": "archived"}, headers=headers
    )
    assert bad_status.status_code == 422 and bad_status.json()["errors"][0]["field"] == "status"
    assert _counts(db) == before
    assert client.get(f"{URL}/{HUKOU_BODY['code']}", headers=headers).json()["version"] == "1.0"
