"""Catalogue import and export through the API: round trips, bad rows, permissions, dry runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalogs.resources import service as resources
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from catalogs.resources.schemas import ItemIn, ResourceCreate
from tests.catalogs.test_transfer_format import row, sheet
from tests.fixtures.factories import create_department

IMPORT = "/v1/catalog/import"
EXPORT = "/v1/catalog/export"
CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}


def item(code: str, name: str, data_type: str = "C", **more: Any) -> ItemIn:
    return ItemIn(code=code, name=name, data_type=data_type, **more)


def seed_catalogue(db: Session) -> None:
    """Three entries of two departments in three states, with awkward cells for a sheet."""
    create_department(db, "zj-gat", name="浙江省公安厅")
    create_department(db, "zj-mzt", name="浙江省民政厅")
    hukou = ResourceCreate(
        code="301001001/000001",
        name="居民户籍信息",
        provider="zj-gat",
        summary='全省常住人口的户籍登记信息，含"曾用名"\n第二行说明',
        format="database",
        items=[
            item("id_number", "公民身份号码", sensitivity=3, is_key=True, description="=18位"),
            item("name", "姓名", sensitivity=2),
            item("birth_date", "出生日期", "D", sensitivity=2),
        ],
        share_type="conditional",
        share_condition="仅限政务服务办理使用",
        share_method="api",
        legal_basis="《中华人民共和国户口登记条例》",
        open_type="closed",
        update_cycle="daily",
        published_on=date(2026, 1, 15),
        related_codes=["301001001/000002", "302001/000001"],
    )
    death = ResourceCreate(
        code="301001001/000002",
        name="死亡登记信息",
        provider="zj-gat",
        summary="死亡人口登记",
        format="spreadsheet",
        items=[item("id_number", "公民身份号码", is_key=True), item("died_on", "死亡日期", "T")],
        share_type="none",
        share_method="file",
        legal_basis="《个人信息保护法》第二十八条",
        open_type="closed",
        update_cycle="monthly",
        published_on=date(2025, 6, 1),
    )
    marriage = ResourceCreate(
        code="302001/000001",
        name="婚姻登记信息",
        provider="zj-mzt",
        summary="结婚、离婚登记",
        format="service_interface",
        items=[
            item("cert_no", "结婚证字号", is_key=True, sensitivity=4),
            item("fee", "工本费", "Y"),
            item("count", "登记次数", "I"),
            item("valid", "是否有效", "L"),
        ],
        share_type="unconditional",
        share_method="database",
        open_type="open",
        update_cycle="realtime",
    )
    resources.create_resource(db, data=hukou, status="published")
    resources.create_resource(db, data=death, status="published")
    resources.change_status(db, code=death.code, status="deprecated")
    resources.create_resource(db, data=marriage)
    db.commit()


def clear_catalogue(db: Session) -> None:
    """Empty the catalogue (departments stay), as on a fresh hub."""
    db.execute(delete(ResourceVersion))
    db.execute(delete(ResourceItem))
    db.execute(delete(Resource))
    db.commit()


def resource_count(db: Session) -> int:
    db.commit()  # end the session's snapshot so the app's writes are visible
    return db.scalar(select(func.count(Resource.id))) or 0


@pytest.fixture
def admin(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("province", department="zj-dsj", roles=["province_admin"])


@pytest.fixture
def seeded(db: Session, admin: dict[str, str]) -> Session:
    seed_catalogue(db)
    return db


def export(client: TestClient, headers: dict[str, str], fmt: str = "json", **params: str) -> bytes:
    response = client.get(EXPORT, params={"format": fmt, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_into_an_empty_hub_gives_the_same_catalogue(
    client: TestClient, seeded: Session, admin: dict[str, str], fmt: str
) -> None:
    before_json = export(client, admin, "json")
    before_csv = export(client, admin, "csv")
    clear_catalogue(seeded)
    assert json.loads(export(client, admin, "json")) == {"resources": []}

    body = before_csv if fmt == "csv" else before_json
    response = client.post(
        IMPORT, content=body, headers={**admin, **(CSV if fmt == "csv" else JSON)}
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 3 and summary["updated"] == summary["unchanged"] == 0
    assert summary["resources"] == ["301001001/000001", "301001001/000002", "302001/000001"]

    assert export(client, admin, "json") == before_json
    assert export(client, admin, "csv") == before_csv
    statuses = {r["code"]: r["status"] for r in json.loads(before_json)["resources"]}
    assert statuses == {
        "301001001/000001": "published",
        "301001001/000002": "deprecated",
        "302001/000001": "draft",
    }


def test_reimporting_the_export_changes_nothing_and_an_edit_is_an_update(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    document = json.loads(export(client, admin))
    response = client.post(IMPORT, json=document, headers=admin)
    assert response.json()["unchanged"] == 3

    document["resources"][2]["items"].append(
        {"code": "place", "name": "登记机关", "data_type": "C", "sensitivity": 1, "is_key": False}
    )
    document["resources"][2]["status"] = "published"
    response = client.post(IMPORT, json=document, headers=admin)
    assert response.json()["actions"]["302001/000001"] == "updated"
    read = client.get("/v1/catalog/resources/302001/000001", headers=admin).json()
    assert read["version"] == "1.1" and read["status"] == "published"
    assert read["items"][-1]["code"] == "place"


def test_bad_rows_are_all_reported_with_line_and_column_and_nothing_is_written(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    before = export(client, admin)
    content = sheet(
        row(资源代码="301001001/000009"),  # line 2
        row(资源代码="301001001/000009", 信息项代码="name", 信息项名称="姓名"),
        row(
            资源代码="301001001/000009",
            信息项代码="born",
            信息项名称="出生日期",
            数据类型="日期格式",
        ),
        row(资源代码="302001/000005", 提供方代码="zj-mzt"),  # line 5
        row(资源代码="302001/000005", 提供方代码="zj-mzt", 信息项代码="name", 信息项名称="姓名"),
        row(资源代码="302001/000006", 提供方代码="zj-nowhere"),  # line 7
        row(
            资源代码="302001/000006", 提供方代码="zj-nowhere", 信息项代码="name", 信息项名称="姓名"
        ),
        row(资源代码="302001/000007", 共享类型="不予共享", 共享条件="", 共享依据=""),  # line 9
    )
    response = client.post(IMPORT, content=content, headers={**admin, **CSV})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (4, "数据类型"),
        (7, "提供方代码"),
        (9, "共享依据"),
    ]
    assert "不予共享" in problem["errors"][2]["message"]
    assert "nothing was imported" in problem["detail"]
    assert resource_count(seeded) == 3
    assert export(client, admin) == before


def test_json_errors_name_the_pointer(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    document = json.loads(export(client, admin))
    document["resources"][1]["items"][0]["data_type"] = "Z"
    document["resources"][2]["code"] = "302001-000001"
    response = client.post(IMPORT, json=document, headers=admin)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == [
        "/resources/1/items/0/data_type",
        "/resources/2/code",
    ]


def test_disagreeing_repeated_columns_are_refused(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    content = sheet(
        row(资源代码="301001001/000009"),
        row(资源代码="301001001/000009", 信息项代码="name", 信息项名称="姓名", 提供方代码="zj-mzt"),
    )
    response = client.post(IMPORT, content=content, headers={**admin, **CSV})
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(3, "提供方代码")]
    assert resource_count(seeded) == 3


def test_chinese_labels_and_codes_are_both_accepted(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    labelled = {
        "资源格式": "电子表格",
        "共享类型": "无条件共享",
        "共享方式": "文件",
        "开放属性": "有条件开放",
        "更新周期": "每季度",
    }
    coded = {
        "资源格式": "spreadsheet",
        "共享类型": "unconditional",
        "共享方式": "file",
        "开放属性": "conditional",
        "更新周期": "quarterly",
    }
    code, no_basis = "301001001/000009", {"共享条件": "", "共享依据": ""}
    content = sheet(
        row(资源代码=code, 敏感级别="高度敏感", **labelled, **no_basis),
        row(资源代码=code, 信息项代码="amount", 信息项名称="金额", 数据类型="货币型",
            敏感级别="1", 是否查询键="否", **coded, **no_basis),
    )  # fmt: skip
    response = client.post(IMPORT, content=content, headers={**admin, **CSV})
    assert response.status_code == 200, response.text
    read = client.get("/v1/catalog/resources/301001001/000009", headers=admin).json()
    assert (read["format"], read["share_type"], read["share_method"]) == (
        "spreadsheet",
        "unconditional",
        "file",
    )
    assert (read["open_type"], read["update_cycle"], read["status"]) == (
        "conditional",
        "quarterly",
        "draft",
    )
    assert [(i["data_type"], i["sensitivity"], i["is_key"]) for i in read["items"]] == [
        ("C", 4, True),
        ("Y", 1, False),
    ]
    exported = export(client, admin, "csv", provider="zj-gat").decode("utf-8")
    assert "无条件共享" in exported and "电子表格" in exported and "每季度" in exported


def test_dry_run_reports_the_plan_and_writes_nothing(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    document = json.loads(export(client, admin))
    document["resources"][0]["name"] = "居民户籍信息（新）"
    document["resources"].append({**document["resources"][2], "code": "302001/000002"})
    response = client.post(IMPORT, params={"dry_run": "true"}, json=document, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() | {"resources": None} == {
        "dry_run": True,
        "created": 1,
        "updated": 1,
        "unchanged": 2,
        "resources": None,
        "actions": {
            "301001001/000001": "updated",
            "301001001/000002": "unchanged",
            "302001/000001": "unchanged",
            "302001/000002": "created",
        },
    }
    assert resource_count(seeded) == 3
    read = client.get("/v1/catalog/resources/301001001/000001", headers=admin).json()
    assert read["name"] == "居民户籍信息" and read["version"] == "1.0"


def test_create_only_refuses_existing_codes(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    body = export(client, admin, "csv")
    response = client.post(
        IMPORT, params={"mode": "create-only"}, content=body, headers={**admin, **CSV}
    )
    assert response.status_code == 422
    assert {(e["line"], e["field"]) for e in response.json()["errors"]} == {
        (2, "资源代码"),
        (5, "资源代码"),
        (7, "资源代码"),
    }


def test_catalog_admin_may_not_import_another_departments_rows(
    client: TestClient, seeded: Session, auth: Callable[..., dict[str, str]]
) -> None:
    gat = auth("gat-admin", department="zj-gat", roles=["catalog_admin"])
    content = sheet(
        row(资源代码="301001001/000009"),
        row(资源代码="301001001/000009", 信息项代码="name", 信息项名称="姓名"),
        row(资源代码="302001/000009", 提供方代码="zj-mzt"),
        row(资源代码="302001/000009", 提供方代码="zj-mzt", 信息项代码="name", 信息项名称="姓名"),
        # an existing 民政 entry claimed for 公安: its current department counts too
        row(资源代码="302001/000001"),
    )
    response = client.post(IMPORT, content=content, headers={**gat, **CSV})
    assert response.status_code == 403, response.text
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [
        (4, "提供方代码"),
        (5, "提供方代码"),
        (6, "提供方代码"),
    ]
    assert resource_count(seeded) == 3

    own = sheet(row(资源代码="301001001/000009"))
    response = client.post(IMPORT, content=own, headers={**gat, **CSV})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


def test_systems_may_not_import(
    client: TestClient, seeded: Session, auth: Callable[..., dict[str, str]]
) -> None:
    window = auth("gat-window", department="zj-gat", roles=["system"], kind="system")
    response = client.post(IMPORT, content=sheet(row()), headers={**window, **CSV})
    assert response.status_code == 403


def test_multipart_upload_and_format_by_file_name(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    content = sheet(row(资源代码="301001001/000009"))
    files = {"file": ("目录.csv", content, "application/vnd.ms-excel")}
    response = client.post(IMPORT, files=files, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["resources"] == ["301001001/000009"]

    response = client.post(IMPORT, content=b"abc", headers={**admin, "Content-Type": "text/plain"})
    assert response.status_code == 415
    response = client.post(IMPORT, data={"other": "x"}, files={"x": ("a", b"")}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


def test_a_nul_in_a_file_is_refused_naming_its_cell_before_any_lookup(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    # PostgreSQL text cannot hold U+0000: the file is refused before it is looked up.
    content = sheet(row(资源代码="301001001/000009", 信息项名称="姓\x00名"))
    response = client.post(IMPORT, content=content, headers={**admin, **CSV})
    assert response.status_code == 422, response.text
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(2, "信息项名称")]
    document = json.loads(export(client, admin))
    document["resources"][0]["code"] = "301001001/00\x0001"
    files = {"file": ("目录.json", json.dumps(document).encode(), "application/json")}
    response = client.post(IMPORT, files=files, headers=admin)
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/resources/0/code"]
    assert resource_count(seeded) == 3


def test_oversized_files_are_refused(
    client: TestClient, seeded: Session, admin: dict[str, str]
) -> None:
    client.app.state.settings.import_max_rows = 2  # type: ignore[attr-defined]
    body = export(client, admin, "csv")  # 9 item rows
    response = client.post(IMPORT, content=body, headers={**admin, **CSV})
    assert response.status_code == 413
    assert "split the file" in response.json()["detail"]


def test_export_headers_and_visibility(
    client: TestClient, seeded: Session, admin: dict[str, str], auth: Callable[..., dict[str, str]]
) -> None:
    response = client.get(EXPORT, params={"format": "csv"}, headers=admin)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="datarun-catalog-'
    )
    assert response.headers["content-disposition"].endswith('.csv"')
    assert response.content.startswith(
        b"\xef\xbb\xbf\xe8\xb5\x84\xe6\xba\x90\xe4\xbb\xa3\xe7\xa0\x81"
    )
    assert response.content.decode("utf-8-sig").count("\r\n") == 1 + 3 + 2 + 4

    response = client.get(EXPORT, headers=admin)
    assert response.headers["content-type"] == "application/json"

    window = auth("mzt-window", department="zj-mzt", roles=["system"], kind="system")
    codes = [r["code"] for r in json.loads(export(client, window))["resources"]]
    assert codes == ["301001001/000001", "301001001/000002"]  # 民政's own draft is not public
    mzt = auth("mzt-admin", department="zj-mzt", roles=["catalog_admin"])
    codes = [r["code"] for r in json.loads(export(client, mzt, status="draft"))["resources"]]
    assert codes == ["302001/000001"]
    codes = [r["code"] for r in json.loads(export(client, admin, share_type="none"))["resources"]]
    assert codes == ["301001001/000002"]
    assert client.get(EXPORT).status_code == 401


def test_the_demo_province_survives_its_own_spreadsheet(
    client: TestClient, demo_province: Any, admin: dict[str, str]
) -> None:
    body = export(client, admin, "csv")
    response = client.post(
        IMPORT, params={"dry_run": "true"}, content=body, headers={**admin, **CSV}
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["unchanged"] == demo_province.resources >= 20
    assert summary["created"] == summary["updated"] == 0
