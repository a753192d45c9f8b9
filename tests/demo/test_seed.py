"""The demo province: complete, idempotent, and its systems can really sign in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.identifiers import uscc_problem
from catalogs.onethings.models import Material, OneThing, ServiceItem
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from exchange.demo.seed import SeedResult, ensure_private_key, load_province, seed_demo
from exchange.identity.clients import request_access_token
from exchange.identity.models import System, User

TABLES = [
    Department,
    Resource,
    ResourceItem,
    ResourceVersion,
    ServiceItem,
    OneThing,
    Material,
    System,
    User,
]


def _row_counts(db: Session) -> dict[str, int]:
    return {t.__name__: db.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def _system_token(client: TestClient, demo: SeedResult, client_id: str) -> str:
    private = json.loads(demo.key_files[client_id].read_text(encoding="utf-8"))
    body = request_access_token(
        client, client_id=client_id, private_jwk=private, token_url="http://testserver/oauth/token"
    )
    token: str = body["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_seeding_twice_changes_nothing(demo_province: SeedResult, db: Session, app: Any) -> None:
    assert all(n > 0 for n in demo_province.created.values())
    before = _row_counts(db)
    keys_before = {c: p.read_text() for c, p in demo_province.key_files.items()}
    again = seed_demo(db, key_dir=app.state.settings.data_dir / "demo-keys")
    db.commit()
    assert again.counts == demo_province.counts
    assert set(again.created.values()) == {0}
    assert _row_counts(db) == before
    assert {c: p.read_text() for c, p in again.key_files.items()} == keys_before


def test_demo_is_a_realistic_province(demo_province: SeedResult, client: TestClient, auth) -> None:
    headers = auth("province-reader", department="zj-dsj", roles=["auditor"])
    assert demo_province.departments >= 6
    province = load_province()
    assert all(d.uscc and uscc_problem(d.uscc) is None for d in province.departments)

    published = client.get(
        "/v1/catalog/resources", params={"status": "published", "size": 100}, headers=headers
    ).json()
    assert 18 <= published["total"] == demo_province.resources
    by_type = {r["share_type"] for r in published["items"]}
    assert by_type == {"unconditional", "conditional", "none"}
    for entry in published["items"]:
        assert any(item["is_key"] for item in entry["items"]), entry["name"]
        if entry["share_type"] != "unconditional":
            assert entry["legal_basis"], entry["name"]

    found = client.get("/v1/catalog/resources", params={"q": "户籍"}, headers=headers).json()
    assert "居民户籍信息" in [r["name"] for r in found["items"]]

    things = client.get("/v1/one-things", headers=headers).json()
    assert {t["code"] for t in things["items"]} >= {"esf-transfer", "newborn", "company-start"}
    esf = client.get("/v1/one-things/esf-transfer", headers=headers).json()
    assert esf["name"] == "二手房交易过户一件事"
    handling = {s.department for s in province.service_items if s.code in esf["service_items"]}
    assert handling == {"zj-zjt", "zj-tax", "zj-zrzyt"}


def test_every_demo_system_gets_a_token_with_its_own_key(
    demo_province: SeedResult, client: TestClient
) -> None:
    for client_id, path in demo_province.key_files.items():
        assert path.stat().st_mode & 0o777 == 0o600
        me = client.get("/v1/me", headers=_bearer(_system_token(client, demo_province, client_id)))
        assert me.status_code == 200, me.text
        assert me.json()["subject"] == client_id
        assert me.json()["department"] == client_id.rsplit("-", 1)[0]
    assert len(demo_province.key_files) == demo_province.systems


def test_a_lost_key_file_is_replaced_and_registered(
    demo_province: SeedResult, client: TestClient, db: Session, app: Any
) -> None:
    path = demo_province.key_files["zj-gat-backoffice"]
    old_kid = json.loads(path.read_text())["kid"]
    path.unlink()
    seed_demo(db, key_dir=path.parent)
    db.commit()
    new_kid = json.loads(path.read_text())["kid"]
    assert new_kid != old_kid
    system = db.scalars(select(System).where(System.client_id == "zj-gat-backoffice")).one()
    db.refresh(system)
    assert [k["kid"] for k in system.jwks["keys"]] == [old_kid, new_kid]
    token = _system_token(client, demo_province, "zj-gat-backoffice")
    assert client.get("/v1/me", headers=_bearer(token)).status_code == 200


def test_a_damaged_key_file_is_refused_not_replaced(tmp_path) -> None:
    path = tmp_path / "x.jwk.json"
    path.write_text('{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}')
    with pytest.raises(ValueError, match="private"):
        ensure_private_key(path)
    assert "AAAA" in path.read_text()


def test_esf_elimination_report_gives_every_reason(
    demo_province: SeedResult, client: TestClient
) -> None:
    token = _system_token(client, demo_province, "zj-zrzyt-window")
    response = client.get("/v1/one-things/esf-transfer/elimination-report", headers=_bearer(token))
    assert response.status_code == 200, response.text
    report = response.json()
    by_material = {e["material"]: e for e in report["entries"]}
    assert by_material["purchase_eligibility"]["reason"] == "no_catalogue_resource"
    assert by_material["buyer_tax_record"]["reason"] == "not_shareable"
    assert by_material["power_of_attorney"]["reason"] == "submitted_by_nature"
    # No connectors or grants exist in the demo yet: catalogued, shareable materials are
    # still demanded for want of supply, never for a mistake in the demo itself.
    supply = {by_material[m]["reason"] for m in ("seller_id", "property_cert", "sale_contract")}
    assert supply <= {"no_connector", "no_grant", None}


@pytest.mark.parametrize("code", ["esf-transfer", "newborn", "company-start"])
def test_demo_materials_name_real_items_of_published_resources(
    demo_province: SeedResult, client: TestClient, auth, code: str
) -> None:
    headers = auth("reader", department="zj-dsj", roles=["auditor"])
    report = client.get(f"/v1/one-things/{code}/elimination-report", headers=headers).json()
    reasons = {e["reason"] for e in report["entries"]}
    assert not reasons & {"unknown_items", "resource_not_published"}
    kinds = {e["kind"] for e in report["entries"]}
    assert kinds == {"pullable", "submitted"}
