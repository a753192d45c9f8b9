"""Catalogue search: Chinese text, filters, total counts and pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.catalogs.test_resources import URL, province_departments, resource_body

Auth = Callable[..., dict[str, str]]


def _entries() -> list[dict[str, Any]]:
    items = [{"code": "id_number", "name": "公民身份号码", "data_type": "C", "is_key": True}]
    open_share: dict[str, Any] = {
        "share_type": "unconditional",
        "share_condition": None,
        "legal_basis": None,
    }
    entries = [
        resource_body(code="301001001/000001", name="居民户籍信息", items=items, related_codes=[]),
        resource_body(
            code="301001001/000002",
            name="户籍迁移记录",
            summary="迁入迁出",
            update_cycle="realtime",
            items=items,
            related_codes=[],
        ),
        resource_body(
            code="302001/000001",
            name="婚姻登记信息",
            provider="zj-mzt",
            summary="结婚、离婚登记",
            items=items,
            related_codes=[],
            **open_share,
        ),
        resource_body(
            code="303001/000001",
            name="纳税人登记信息",
            provider="zj-swj",
            summary="Taxpayer REGISTRY",
            share_type="none",
            share_condition=None,
            items=[{"code": "uscc", "name": "统一社会信用代码", "data_type": "C"}],
            related_codes=[],
        ),
    ]
    entries += [
        resource_body(
            code=f"302002/{n:06d}",
            name=f"社会组织年检信息{n}",
            summary="社会组织年度检查结果",
            provider="zj-mzt",
            update_cycle="yearly",
            items=items,
            related_codes=[],
            **open_share,
        )
        for n in range(1, 26)
    ]
    return entries


def _setup(client: TestClient, db: Session, auth: Auth) -> dict[str, str]:
    province_departments(db)
    admin = auth("dsj-admin", department="zj-dsj", roles=["province_admin"])
    for body in _entries():
        assert client.post(URL, json=body, headers=admin).status_code == 201
        client.post(f"{URL}/{body['code']}/status", json={"status": "published"}, headers=admin)
    client.post(
        URL,
        json=resource_body(code="301001001/000099", name="户籍草稿", related_codes=[]),
        headers=admin,
    )
    return auth("zj-gat-window", department="zj-gat", roles=["system"], kind="system")


def _codes(client: TestClient, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    return [r["code"] for r in page["items"]], page["total"]


def test_search_by_chinese_text_and_filters(client: TestClient, db: Session, auth: Auth) -> None:
    system = _setup(client, db, auth)
    # The draft 户籍草稿 is not in the published catalogue a system sees.
    assert _codes(client, system, q="户籍") == (["301001001/000001", "301001001/000002"], 2)
    assert _codes(client, system, q="离婚") == (["302001/000001"], 1)  # summary
    assert _codes(client, system, q="taxpayer registry") == (["303001/000001"], 1)  # any case
    assert _codes(client, system, q="统一社会信用代码")[1] == 1  # item name
    assert _codes(client, system, q="民政厅")[1] == 26  # provider name
    assert _codes(client, system, q="100%")[1] == 0  # LIKE wildcards are literal
    assert _codes(client, system, q="户籍", update_cycle="realtime") == (["301001001/000002"], 1)
    assert _codes(client, system, provider="zj-swj") == (["303001/000001"], 1)
    assert _codes(client, system, share_type="none")[1] == 1
    assert _codes(client, system, share_type="conditional")[1] == 2
    assert _codes(client, system, status="draft") == ([], 0)


def test_pagination_and_totals(client: TestClient, db: Session, auth: Auth) -> None:
    system = _setup(client, db, auth)
    first, total = _codes(client, system, provider="zj-mzt", size=10)
    assert total == 26 and len(first) == 10 and first[0] == "302001/000001"
    third, total = _codes(client, system, provider="zj-mzt", size=10, page=3)
    assert total == 26 and third == [f"302002/{n:06d}" for n in range(20, 26)]
    beyond, total = _codes(client, system, provider="zj-mzt", size=10, page=9)
    assert beyond == [] and total == 26
    text_page, total = _codes(client, system, q="社会组织", size=10, page=2)
    assert total == 25 and text_page == [f"302002/{n:06d}" for n in range(11, 21)]
    assert _codes(client, system, q="社会组织", size=10, page=4) == ([], 25)
    everything, total = _codes(client, system, size=200)
    assert total == 29 and everything == sorted(everything)


def test_bad_filters_name_the_field(client: TestClient, db: Session, auth: Auth) -> None:
    system = _setup(client, db, auth)
    for params, field in [
        ({"share_type": "open"}, "share_type"),
        ({"status": "gone"}, "status"),
        ({"update_cycle": "hourly"}, "update_cycle"),
        ({"size": 0}, "size"),
        ({"provider": "zj-nope"}, "provider"),
    ]:
        response = client.get(URL, params=params, headers=system)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["field"] == field
