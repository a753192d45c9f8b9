"""Binding a resource to its department's source through the admin API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource
from connectors.testing.sample import COLUMNS, PEOPLE_KEYS, RESOURCE_CODE, write_duckdb_sample
from connectors.testing.sql import closed_port
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.supply.checks import HubSupplyChecks
from tests.bindings.conftest import body

URL = f"/v1/bindings/{RESOURCE_CODE}"
Auth = Callable[..., dict[str, str]]


@pytest.fixture
def admin(auth: Auth, people_resource: Resource) -> dict[str, str]:
    """The provider's (公安厅) catalogue administrator."""
    return auth("gat-admin", department="zj-gat", roles=["catalog_admin"])


def test_bind_show_masked_and_replace(
    client: TestClient, admin: dict[str, str], department_db: Path, db: Session
) -> None:
    created = client.put(URL, json=body(department_db), headers=admin)
    assert created.status_code == 201, created.text
    read = created.json()
    assert read["config"]["url"] == "**********"
    assert read["config"]["table"] == "rk"
    assert read["provider"] == "zj-gat" and read["resource_name"] == "居民户籍信息"

    shown = client.get(URL, headers=admin).json()
    assert shown["config"]["url"] == "**********"
    assert str(department_db) not in client.get(URL, headers=admin).text

    row = db.scalars(select(ConnectorBinding)).one()
    assert str(department_db) not in str(row.config)
    assert row.secrets_encrypted and str(department_db) not in row.secrets_encrypted

    # Sending the mask back keeps the stored secret: show → edit → put round-trips.
    again = body(department_db, config={"url": "**********", "table": "rk"}, enabled=False)
    replaced = client.put(URL, json=again, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["enabled"] is False
    db.expire_all()
    assert db.scalars(select(ConnectorBinding)).one().secrets_encrypted


def test_mask_without_a_stored_secret_is_refused(
    client: TestClient, admin: dict[str, str], department_db: Path
) -> None:
    bad = body(department_db, config={"url": "**********", "table": "rk"})
    response = client.put(URL, json=bad, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "config.url"


def test_unknown_adapter_and_bad_config_name_the_field(
    client: TestClient, admin: dict[str, str], department_db: Path
) -> None:
    response = client.put(URL, json=body(department_db, adapter="oracle"), headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "adapter"
    assert "sql" in response.json()["detail"]

    config = {"url": f"sqlite:///{department_db}", "table": "rk; DROP TABLE rk"}
    response = client.put(URL, json=body(department_db, config=config), headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["config.table"]

    config = {"url": "not a url at all", "table": "rk", "colour": "blue"}
    response = client.put(URL, json=body(department_db, config=config), headers=admin)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"config.url", "config.colour"}
    assert "not a url at all" not in response.text


def test_mapping_must_fit_the_resource(
    client: TestClient, admin: dict[str, str], department_db: Path
) -> None:
    columns = {**COLUMNS, "shoe_size": "xm"}
    response = client.put(URL, json=body(department_db, columns=columns), headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["columns.shoe_size"]

    columns = {k: v for k, v in COLUMNS.items() if k != "id_number"}
    response = client.put(URL, json=body(department_db, columns=columns), headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["key_item"]


def test_a_column_the_source_lacks_is_named(
    client: TestClient, admin: dict[str, str], department_db: Path
) -> None:
    columns = {**COLUMNS, "name": "xingming", "address": "dz"}
    response = client.put(URL, json=body(department_db, columns=columns), headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "dz" in problem["detail"] and "xingming" in problem["detail"]
    assert {e["field"] for e in problem["errors"]} == {"columns.name", "columns.address"}


def test_unreachable_source_is_424_unless_verify_false(
    client: TestClient, admin: dict[str, str], db: Session
) -> None:
    url = f"postgresql+psycopg://reader:pw-Very-Secret@127.0.0.1:{closed_port()}/gat"
    data = {**body(Path("/unused")), "config": {"url": url, "table": "rk"}}
    response = client.put(URL, json=data, headers=admin)
    assert response.status_code == 424, response.text
    assert "verify=false" in response.json()["detail"]
    assert "pw-Very-Secret" not in response.text
    assert db.scalars(select(ConnectorBinding)).first() is None

    saved = client.put(f"{URL}?verify=false", json=data, headers=admin)
    assert saved.status_code == 201, saved.text
    assert "pw-Very-Secret" not in saved.text
    row = db.scalars(select(ConnectorBinding)).one()
    assert "pw-Very-Secret" not in str(row.config) + (row.secrets_encrypted or "")

    check = client.post(f"{URL}/check", headers=admin)
    assert check.status_code == 200
    assert check.json()["ok"] is False and "unreachable" in check.json()["detail"]
    assert "pw-Very-Secret" not in check.text
    described = client.get(f"{URL}/describe", headers=admin)
    assert described.status_code == 424


def test_files_outside_the_roots_are_refused(
    client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "people.parquet"
    outside.parent.mkdir()
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 1 AS sfzh) TO '{outside}' (FORMAT parquet)")
    data = {**body(outside), "adapter": "duckdb", "config": {"path": str(outside)}}
    response = client.put(URL, json=data, headers=admin)
    assert response.status_code == 422
    assert "outside the directories" in response.json()["detail"]
    data["config"] = {"path": "/etc/../etc/passwd", "format": "csv"}
    assert client.put(URL, json=data, headers=admin).status_code == 422


def test_duckdb_parquet_binding_describes_and_checks(
    client: TestClient, admin: dict[str, str], settings: object, department_db: Path
) -> None:
    target = department_db.parent / "people.parquet"
    with duckdb.connect() as con:
        write_duckdb_sample(con)
        con.execute(f"COPY people TO '{target}' (FORMAT parquet)")
    data = {**body(target), "adapter": "duckdb", "config": {"path": str(target)}}
    response = client.put(URL, json=data, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["config"]["path"] == str(target)  # nothing secret here
    names = [c["name"] for c in client.get(f"{URL}/describe", headers=admin).json()]
    assert set(COLUMNS.values()) <= set(names)


def test_check_history_and_describe(
    client: TestClient, admin: dict[str, str], department_db: Path, db: Session
) -> None:
    assert client.put(URL, json=body(department_db), headers=admin).status_code == 201
    for _ in range(3):
        check = client.post(f"{URL}/check", headers=admin)
        assert check.status_code == 200, check.text
        assert check.json()["ok"] is True
    history = client.get(f"{URL}/checks?size=2", headers=admin).json()
    assert history["total"] == 3 and len(history["items"]) == 2
    assert history["items"][0]["at"] >= history["items"][1]["at"]
    assert db.query(ConnectorCheck).count() == 3
    assert client.get(URL, headers=admin).json()["last_check"]["ok"] is True

    described = client.get(f"{URL}/describe", headers=admin)
    assert described.status_code == 200
    by_name = {c["name"]: c for c in described.json()}
    assert set(COLUMNS.values()) <= set(by_name)
    assert by_name["csrq"]["type"] == "DATE"


def test_bound_resource_counts_as_supplied_until_deleted(
    client: TestClient, admin: dict[str, str], department_db: Path, db: Session
) -> None:
    checks = HubSupplyChecks(db)
    assert checks.is_bound(RESOURCE_CODE) is False
    assert client.put(URL, json=body(department_db), headers=admin).status_code == 201
    db.expire_all()
    assert checks.is_bound(RESOURCE_CODE) is True
    disabled = body(department_db, enabled=False)
    assert client.put(URL, json=disabled, headers=admin).status_code == 200
    db.expire_all()
    assert checks.is_bound(RESOURCE_CODE) is False

    assert client.delete(URL, headers=admin).status_code == 204
    assert client.get(URL, headers=admin).status_code == 404
    assert client.delete(URL, headers=admin).status_code == 404


def test_who_may_administer_bindings(
    client: TestClient, auth: Auth, admin: dict[str, str], department_db: Path
) -> None:
    other = auth("mzt-admin", department="zj-mzt", roles=["catalog_admin"])
    province = auth("province", department="zj-dsj", roles=["province_admin"])
    window = auth("zj-gat-window", department="zj-gat", roles=["system"], kind="system")
    assert client.put(URL, json=body(department_db)).status_code == 401
    assert client.put(URL, json=body(department_db), headers=other).status_code == 403
    assert client.put(URL, json=body(department_db), headers=window).status_code == 403
    assert client.put(URL, json=body(department_db), headers=province).status_code == 201
    assert client.get(URL, headers=admin).status_code == 200
    assert client.get(URL, headers=other).status_code == 403
    assert client.post(f"{URL}/check", headers=other).status_code == 403

    assert client.get("/v1/bindings", headers=province).json()["total"] == 1
    assert client.get("/v1/bindings", headers=admin).json()["total"] == 1
    assert client.get("/v1/bindings", headers=other).json()["total"] == 0
    assert client.get("/v1/bindings", headers=window).status_code == 403


def test_bad_codes(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/v1/bindings/not-a-code", headers=admin).status_code == 422
    assert client.get("/v1/bindings/301001001/999999", headers=admin).status_code == 404
    assert client.get(f"{URL}", headers=admin).status_code == 404  # exists, not bound


def test_pooled_connector_serves_lookups_and_follows_changes(
    client: TestClient, admin: dict[str, str], department_db: Path
) -> None:
    assert client.put(URL, json=body(department_db), headers=admin).status_code == 201
    pool = client.app.state.connector_pool  # type: ignore[attr-defined]

    async def lookup() -> object:
        connector = await pool.get(RESOURCE_CODE)
        return await connector.lookup([PEOPLE_KEYS[0]], ["name"]), connector

    (first, connector) = client.portal.call(lookup)  # type: ignore[union-attr]
    assert first.records == [{"id_number": PEOPLE_KEYS[0], "name": "张伟"}]
    (_, same) = client.portal.call(lookup)  # type: ignore[union-attr]
    assert same is connector

    narrower = body(department_db, columns={"id_number": "sfzh", "name": "xm"})
    assert client.put(URL, json=narrower, headers=admin).status_code == 200
    (_, rebuilt) = client.portal.call(lookup)  # type: ignore[union-attr]
    assert rebuilt is not connector
