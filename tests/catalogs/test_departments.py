"""Departments (政务部门) through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.identifiers import uscc_check_char

URL = "/v1/departments"
# A GB 32100 code with its check character computed, and the same with a wrong one.
USCC = "11330000002482093" + uscc_check_char("11330000002482093")
BAD_USCC = USCC[:17] + ("0" if USCC[17] != "0" else "1")


def _count(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Department)) or 0


def test_province_admin_registers_departments(client: TestClient, auth: Any) -> None:
    admin = auth("dsj-admin", department="zj-dsj", roles=["province_admin"])
    created = client.post(
        URL,
        json={"code": "zj-gat", "name": "浙江省公安厅", "level": "province", "uscc": USCC},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["uscc"] == USCC and created.json()["parent"] is None
    child = client.post(
        URL,
        json={"code": "hz-gaj", "name": "杭州市公安局", "level": "city", "parent": "zj-gat"},
        headers=admin,
    )
    assert child.status_code == 201 and child.json()["parent"] == "zj-gat"

    system = auth("zj-gat-window", department="zj-gat", roles=["system"], kind="system")
    read = client.get(f"{URL}/hz-gaj", headers=system)
    assert read.status_code == 200 and read.json()["name"] == "杭州市公安局"
    page = client.get(URL, params={"size": 2}, headers=system).json()
    assert page["total"] == 3 and [d["code"] for d in page["items"]] == ["hz-gaj", "zj-dsj"]
    assert client.get(f"{URL}/zj-nowhere", headers=system).status_code == 404


def test_only_province_admins_register(client: TestClient, db: Session, auth: Any) -> None:
    catalog_admin = auth("gat-admin", department="zj-gat", roles=["catalog_admin"])
    before = _count(db)
    response = client.post(
        URL, json={"code": "zj-new", "name": "新厅", "level": "province"}, headers=catalog_admin
    )
    assert response.status_code == 403
    assert _count(db) == before


def test_bad_departments_name_the_field(client: TestClient, db: Session, auth: Any) -> None:
    admin = auth("dsj-admin", department="zj-dsj", roles=["province_admin"])
    before = _count(db)
    good = {"code": "zj-mzt", "name": "浙江省民政厅", "level": "province"}
    for body, field in [
        ({**good, "uscc": BAD_USCC}, "uscc"),
        ({**good, "uscc": "not-a-uscc"}, "uscc"),
        ({**good, "parent": "zj-nowhere"}, "parent"),
        ({**good, "level": "village"}, "level"),
        ({**good, "code": "ZJ MZT"}, "code"),
        ({**good, "boss": "x"}, "boss"),
    ]:
        response = client.post(URL, json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    assert _count(db) == before
    duplicate = client.post(URL, json={**good, "code": "zj-dsj"}, headers=admin)
    assert duplicate.status_code == 409
