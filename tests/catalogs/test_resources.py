"""Catalogue entries through the API: create, read, update with version bumps, lifecycle."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fixtures.factories import create_department

URL = "/v1/catalog/resources"
HUKOU = "301001001/000001"

HUKOU_BODY: dict[str, Any] = {
    "code": HUKOU,
    "name": "居民户籍信息",
    "provider": "zj-gat",
    "summary": "全省常住人口的户籍登记信息",
    "format": "database",
    "items": [
        {
            "code": "id_number",
            "name": "公民身份号码",
            "data_type": "C",
            "sensitivity": 3,
            "is_key": True,
            "description": None,
        },
        {"code": "name", "name": "姓名", "data_type": "C", "sensitivity": 2},
        {"code": "birth_date", "name": "出生日期", "data_type": "D", "sensitivity": 2},
    ],
    "share_type": "conditional",
    "share_condition": "仅限政务服务办理使用",
    "share_method": "api",
    "legal_basis": "《中华人民共和国户口登记条例》",
    "open_type": "closed",
    "update_cycle": "daily",
    "published_on": None,
    "related_codes": ["301001001/000002"],
}


def resource_body(**changes: Any) -> dict[str, Any]:
    """Return a valid create body (the Resource JSON form) with ``changes`` applied."""
    body = copy.deepcopy(HUKOU_BODY)
    body.update(changes)
    return body


def province_departments(db: Session) -> None:
    """Create the departments the catalogue tests use, with their real names."""
    create_department(db, "zj-gat", name="浙江省公安厅")
    create_department(db, "zj-mzt", name="浙江省民政厅")
    create_department(db, "zj-swj", name="国家税务总局浙江省税务局")
    db.commit()


@pytest.fixture
def gat_admin(db: Session, auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Headers of the 公安厅's catalogue administrator."""
    province_departments(db)
    return auth("gat-admin", department="zj-gat", roles=["catalog_admin"])


def test_create_then_read(client: TestClient, gat_admin: dict[str, str]) -> None:
    created = client.post(URL, json=resource_body(), headers=gat_admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["version"] == "1.0"
    assert body["category_code"] == "301001001"
    assert body["provider"] == "zj-gat" and body["provider_name"] == "浙江省公安厅"
    assert [i["code"] for i in body["items"]] == ["id_number", "name", "birth_date"]
    assert body["items"][1]["is_key"] is False and body["items"][1]["sensitivity"] == 2

    read = client.get(f"{URL}/{HUKOU}", headers=gat_admin)
    assert read.status_code == 200
    assert read.json() == body

    versions = client.get(f"{URL}/{HUKOU}/versions", headers=gat_admin)
    assert versions.status_code == 200
    [first] = versions.json()
    assert first["version"] == "1.0" and first["change_kind"] == "created"
    assert first["actor"] == "user:gat-admin"


def test_duplicate_code_is_409(client: TestClient, gat_admin: dict[str, str]) -> None:
    assert client.post(URL, json=resource_body(), headers=gat_admin).status_code == 201
    again = client.post(URL, json=resource_body(name="另一个"), headers=gat_admin)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert client.get(f"{URL}/{HUKOU}", headers=gat_admin).json()["name"] == "居民户籍信息"


def _patch(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.patch(f"{URL}/{HUKOU}", json=changes, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_version_bumps_by_what_changed(client: TestClient, gat_admin: dict[str, str]) -> None:
    client.post(URL, json=resource_body(), headers=gat_admin)
    items = copy.deepcopy(HUKOU_BODY["items"])

    added = [*items, {"code": "address", "name": "住址", "data_type": "C", "sensitivity": 3}]
    assert _patch(client, gat_admin, items=added)["version"] == "1.1"

    assert _patch(client, gat_admin, summary="更新后的摘要")["version"] == "1.2"

    removed = [i for i in added if i["code"] != "birth_date"]
    body = _patch(client, gat_admin, items=removed)
    assert body["version"] == "2.0"
    assert [i["code"] for i in body["items"]] == ["id_number", "name", "address"]

    retyped = copy.deepcopy(removed)
    retyped[1]["data_type"] = "M"
    assert _patch(client, gat_admin, items=retyped)["version"] == "3.0"

    # The same content again is a no-op: no new version, no history row.
    assert _patch(client, gat_admin, items=retyped, summary="更新后的摘要")["version"] == "3.0"

    history = client.get(f"{URL}/{HUKOU}/versions", headers=gat_admin).json()
    assert [(v["version"], v["change_kind"]) for v in history] == [
        ("1.0", "created"),
        ("1.1", "minor"),
        ("1.2", "minor"),
        ("2.0", "major"),
        ("3.0", "major"),
    ]
    assert history[1]["changes"][0]["op"] == "add_item"
    assert history[3]["changes"][0] == {
        "op": "remove_item",
        "item": "birth_date",
        "field": "items.birth_date",
        "from": {
            "code": "birth_date",
            "name": "出生日期",
            "data_type": "D",
            "sensitivity": 2,
            "is_key": False,
            "description": None,
        },
        "to": None,
    }
    assert history[4]["changes"] == [
        {
            "op": "retype_item",
            "item": "name",
            "field": "items.name.data_type",
            "from": "C",
            "to": "M",
        }
    ]


def test_update_sharing_attributes_are_checked_together(
    client: TestClient, gat_admin: dict[str, str]
) -> None:
    client.post(
        URL,
        json=resource_body(share_type="unconditional", share_condition=None, legal_basis=None),
        headers=gat_admin,
    )
    refused = client.patch(f"{URL}/{HUKOU}", json={"share_type": "none"}, headers=gat_admin)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["legal_basis"]
    ok = client.patch(
        f"{URL}/{HUKOU}",
        json={"share_type": "none", "legal_basis": "《条例》第八条"},
        headers=gat_admin,
    )
    assert ok.status_code == 200 and ok.json()["share_type"] == "none"


def test_code_cannot_be_changed_and_required_fields_not_nulled(
    client: TestClient, gat_admin: dict[str, str]
) -> None:
    client.post(URL, json=resource_body(), headers=gat_admin)
    moved = client.patch(f"{URL}/{HUKOU}", json={"code": "301001001/000009"}, headers=gat_admin)
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "code"
    nulled = client.patch(f"{URL}/{HUKOU}", json={"name": None}, headers=gat_admin)
    assert nulled.status_code == 422 and nulled.json()["errors"][0]["field"] == "name"
    assert client.get(f"{URL}/{HUKOU}/versions", headers=gat_admin).json()[-1]["version"] == "1.0"


def test_lifecycle(client: TestClient, gat_admin: dict[str, str]) -> None:
    client.post(URL, json=resource_body(), headers=gat_admin)

    def move(status: str, **extra: Any) -> Any:
        return client.post(
            f"{URL}/{HUKOU}/status", json={"status": status, **extra}, headers=gat_admin
        )

    refused = move("retired")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["from"] == "draft" and problem["to"] == "retired"
    assert "draft" in problem["detail"] and "retired" in problem["detail"]

    published = move("published")
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_on"] is not None
    assert published.json()["version"] == "1.0"

    assert move("deprecated", reason="由新版资源替代").json()["status"] == "deprecated"
    assert move("published").json()["status"] == "published"  # reinstated
    assert move("deprecated").status_code == 200
    assert move("retired").json()["status"] == "retired"
    assert move("published").status_code == 409

    history = client.get(f"{URL}/{HUKOU}/versions", headers=gat_admin).json()
    statuses = [v["changes"][0]["to"] for v in history if v["change_kind"] == "status"]
    assert statuses == ["published", "deprecated", "published", "deprecated", "retired"]
    assert history[2]["changes"][0]["reason"] == "由新版资源替代"
    assert history[1]["changes"][1]["field"] == "published_on"


def test_publishing_keeps_a_given_date(client: TestClient, gat_admin: dict[str, str]) -> None:
    client.post(URL, json=resource_body(published_on="2026-01-15"), headers=gat_admin)
    published = client.post(
        f"{URL}/{HUKOU}/status", json={"status": "published"}, headers=gat_admin
    )
    assert published.json()["published_on"] == "2026-01-15"


def test_versions_route_wins_over_the_bare_code(
    client: TestClient, gat_admin: dict[str, str]
) -> None:
    client.post(URL, json=resource_body(), headers=gat_admin)
    response = client.get("/v1/catalog/resources/301001001/000001/versions", headers=gat_admin)
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_unknown_and_malformed_codes(client: TestClient, gat_admin: dict[str, str]) -> None:
    missing = client.get(f"{URL}/301001001/000404", headers=gat_admin)
    assert missing.status_code == 404
    bad = client.get(f"{URL}/not-a-code", headers=gat_admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"


def test_reading_needs_a_token(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
