"""Who may read and edit catalogue entries: own department, province, systems."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.catalogs.test_resources import URL, province_departments, resource_body

Auth = Callable[..., dict[str, str]]
MZT = "302001/000001"
MZT_DRAFT = "302001/000002"


def _setup(client: TestClient, db: Session, auth: Auth) -> dict[str, dict[str, str]]:
    province_departments(db)
    heads = {
        "gat": auth("gat-admin", department="zj-gat", roles=["catalog_admin"]),
        "mzt": auth("mzt-admin", department="zj-mzt", roles=["catalog_admin"]),
        "province": auth("dsj-admin", department="zj-dsj", roles=["province_admin"]),
        "system": auth("zj-gat-window", department="zj-gat", roles=["system"], kind="system"),
    }
    for code in (MZT, MZT_DRAFT):
        body = resource_body(code=code, name="婚姻登记信息", provider="zj-mzt", related_codes=[])
        assert client.post(URL, json=body, headers=heads["mzt"]).status_code == 201
    client.post(f"{URL}/{MZT}/status", json={"status": "published"}, headers=heads["mzt"])
    return heads


def test_catalog_admin_edits_only_its_own_department(
    client: TestClient, db: Session, auth: Auth
) -> None:
    heads = _setup(client, db, auth)
    refused = client.patch(f"{URL}/{MZT}", json={"name": "改名"}, headers=heads["gat"])
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    status = client.post(f"{URL}/{MZT}/status", json={"status": "deprecated"}, headers=heads["gat"])
    assert status.status_code == 403
    body = resource_body(code="302001/000003", provider="zj-mzt")
    assert client.post(URL, json=body, headers=heads["gat"]).status_code == 403

    entry = client.get(f"{URL}/{MZT}", headers=heads["gat"]).json()
    assert entry["name"] == "婚姻登记信息" and entry["status"] == "published"
    assert len(client.get(f"{URL}/{MZT}/versions", headers=heads["gat"]).json()) == 2


def test_province_admin_edits_every_department(client: TestClient, db: Session, auth: Auth) -> None:
    heads = _setup(client, db, auth)
    changed = client.patch(
        f"{URL}/{MZT}", json={"name": "婚姻登记信息（新）"}, headers=heads["province"]
    )
    assert changed.status_code == 200 and changed.json()["version"] == "1.1"
    history = client.get(f"{URL}/{MZT}/versions", headers=heads["province"]).json()
    assert history[-1]["actor"] == "user:dsj-admin"
    assert client.get(f"{URL}/{MZT_DRAFT}", headers=heads["province"]).status_code == 200
    created = client.post(URL, json=resource_body(), headers=heads["province"])
    assert created.status_code == 201


def test_drafts_are_hidden_from_other_departments_and_systems(
    client: TestClient, db: Session, auth: Auth
) -> None:
    heads = _setup(client, db, auth)
    assert client.get(f"{URL}/{MZT}", headers=heads["system"]).status_code == 200
    for who in ("system", "gat"):
        assert client.get(f"{URL}/{MZT_DRAFT}", headers=heads[who]).status_code == 404
        assert client.get(f"{URL}/{MZT_DRAFT}/versions", headers=heads[who]).status_code == 404
        # Writing to a hidden draft is a 404 too: its existence does not leak.
        patch = client.patch(f"{URL}/{MZT_DRAFT}", json={"name": "x"}, headers=heads[who])
        assert patch.status_code == 404
    assert client.get(f"{URL}/{MZT_DRAFT}", headers=heads["mzt"]).status_code == 200

    seen_by_system = client.get(URL, headers=heads["system"]).json()
    assert [r["code"] for r in seen_by_system["items"]] == [MZT]
    assert seen_by_system["total"] == 1
    seen_by_owner = client.get(URL, headers=heads["mzt"]).json()
    assert seen_by_owner["total"] == 2


def test_systems_cannot_write(client: TestClient, db: Session, auth: Auth) -> None:
    heads = _setup(client, db, auth)
    assert (
        client.patch(f"{URL}/{MZT}", json={"name": "x"}, headers=heads["system"]).status_code == 403
    )
    body = resource_body(code="301001001/000005")
    assert client.post(URL, json=body, headers=heads["system"]).status_code == 403
    assert client.get(f"{URL}/301001001/000005", headers=heads["province"]).status_code == 404


def test_moving_an_entry_needs_write_on_both_departments(
    client: TestClient, db: Session, auth: Auth
) -> None:
    heads = _setup(client, db, auth)
    own = resource_body(code="301001001/000007", related_codes=[])
    assert client.post(URL, json=own, headers=heads["gat"]).status_code == 201
    away = {"provider": "zj-mzt"}
    refused = client.patch(f"{URL}/301001001/000007", json=away, headers=heads["gat"])
    assert refused.status_code == 403
    moved = client.patch(f"{URL}/301001001/000007", json=away, headers=heads["province"])
    assert moved.status_code == 200
    assert moved.json()["provider_name"] == "浙江省民政厅" and moved.json()["version"] == "1.1"
    found = client.get(URL, params={"q": "民政厅"}, headers=heads["province"]).json()
    assert "301001001/000007" in [r["code"] for r in found["items"]]
