"""The demo resources bound to the departments' data, and lookups through those bindings."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from connectors import registry
from connectors.base import LookupResult
from exchange.bindings import repository as bindings_repo
from exchange.bindings.service import connector_binding
from exchange.core.settings import Settings
from exchange.demo.seed import load_province
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment, apply_bindings, load_bindings
from exchange.demo.sources.generate import Sources
from exchange.demo.sources.http_department import create_department_app
from tests.fixtures.demo import DEMO_DEPARTMENT_KEY

HTTP_READY = "http" in registry.available()
NOBODY = "330106199001010019"  # a valid resident ID no department knows


def _lookup(
    db: Session, settings: Settings, code: str, keys: Sequence[str], items: Sequence[str]
) -> LookupResult:
    row = bindings_repo.by_code(db, code)
    assert row is not None, f"{code} is not bound"
    binding = connector_binding(row, settings)

    async def go() -> LookupResult:
        connector = registry.build(binding)
        try:
            return await connector.lookup(list(keys), list(items))
        finally:
            await connector.close()

    return asyncio.run(go())


def test_the_bindings_file_covers_every_demo_resource_with_department_column_names() -> None:
    specs = load_bindings()
    resources = {r.code: r for r in load_province().resources}
    assert sorted(s.resource for s in specs) == sorted(resources)
    for spec in specs:
        items = [i.code for i in resources[spec.resource].items]
        assert list(spec.columns) == items
        assert spec.key_item in spec.columns
        # A department system's own names, not the catalogue's codes.
        assert not set(spec.columns) & set(spec.columns.values()), spec.resource


def test_every_demo_resource_is_bound_by_its_storage(db: Session, demo_bound: Settings) -> None:
    adapters = {}
    for spec in load_bindings():
        row = bindings_repo.by_code(db, spec.resource)
        if spec.dataset.startswith("zj-rlsbt.") and not HTTP_READY:
            assert row is None
            continue
        assert row is not None, spec.resource
        assert row.key_item == spec.key_item and row.columns == spec.columns
        adapters[spec.dataset.split(".")[0]] = row.adapter
        if row.adapter == "sql":
            assert row.config["url"] == "**********"  # the URL is a secret, stored encrypted
    assert adapters["zj-gat"] == adapters["zj-mzt"] == adapters["zj-ybj"] == "sql"
    assert adapters["zj-zrzyt"] == adapters["zj-tax"] == adapters["zj-scjgj"] == "duckdb"
    if HTTP_READY:
        assert adapters["zj-rlsbt"] == "http"


def test_binding_again_changes_nothing(
    db: Session, demo_bound: Settings, demo_sources: Sources, demo_department: HttpDepartment
) -> None:
    counts = apply_bindings(db, sources=demo_sources, settings=demo_bound, http=demo_department)
    expected = 21 if HTTP_READY else 19
    assert counts["unchanged"] == expected and counts["created"] == counts["updated"] == 0


# resource, key, items asked, values expected in the first record
LOOKUPS: list[tuple[str, str, list[str], dict[str, object]]] = [
    ("301001002/000002", cast.SELLER_ID, ["name", "address"],
     {"name": "陈建国", "address": cast.PROPERTY_ADDRESS}),
    ("301001001/000001", cast.NEWBORN_ID, ["name", "birth_date", "relation_to_head"],
     {"name": "周一诺", "relation_to_head": "女"}),
    ("303001001/000001", cast.PROPERTY_CERT_NO, ["owner_name", "building_area", "unit_no"],
     {"owner_name": "陈建国、沈丽华", "building_area": Decimal("89.37"),
      "unit_no": cast.UNIT_NO}),
    ("303001002/000002", cast.PROPERTY_CERT_NO, ["mortgage_cert_no", "cancelled"],
     {"mortgage_cert_no": cast.MORTGAGE_CERT_NO, "cancelled": True}),
    ("309001001/000001", cast.PROPERTY_CERT_NO, ["buyer_names", "transaction_price"],
     {"buyer_names": "王晓明", "transaction_price": Decimal("3280000.00")}),
    ("304001001/000001", cast.UNIT_NO, ["location"], {"location": cast.PROPERTY_ADDRESS}),
    ("304001002/000002", cast.BUYER_ID, ["tax_amount", "paid_on"],
     {"tax_amount": Decimal("32800.00"), "paid_on": date(2026, 10, 20)}),
    ("302001001/000001", cast.SELLER_ID, ["marital_status", "spouse_id_number"],
     {"marital_status": "已婚", "spouse_id_number": cast.SELLER_SPOUSE_ID}),
    ("305001001/000001", cast.COMPANY_USCC, ["company_name", "registered_capital"],
     {"company_name": cast.COMPANY_NAME, "registered_capital": Decimal("5000000.00")}),
    ("305001002/000002", cast.NAME_DECLARATION_NO, ["proposed_name", "declaration_status"],
     {"proposed_name": cast.DECLARED_NAME, "declaration_status": "保留中"}),
    ("308001001/000001", cast.MOTHER_ID, ["birth_cert_no", "newborn_name"],
     {"birth_cert_no": cast.BIRTH_CERT_NO, "newborn_name": "周一诺"}),
    ("307001002/000002", cast.NEWBORN_ID, ["guardian_id_number", "premium_paid"],
     {"guardian_id_number": cast.MOTHER_ID}),
    ("306001001/000001", cast.BUYER_ID, ["insured_unit", "first_insured_on"],
     {"insured_unit": cast.COMPANY_NAME}),
]  # fmt: skip


def test_lookups_through_the_bindings_return_the_records_with_only_the_asked_items(
    db: Session, demo_bound: Settings
) -> None:
    specs = {s.resource: s for s in load_bindings()}
    checked = 0
    for code, key, items, expected in LOOKUPS:
        spec = specs[code]
        if spec.dataset.startswith("zj-rlsbt.") and not HTTP_READY:
            continue  # the http adapter is not registered yet
        result = _lookup(db, demo_bound, code, [key, NOBODY], items)
        assert result.missing == [NOBODY], code
        assert result.records, code
        for record in result.records:
            assert set(record) == {spec.key_item, *items}, code
            assert record[spec.key_item] == key, code
        first = result.records[0]
        for item, value in expected.items():
            got = first[item]
            if isinstance(value, Decimal) and isinstance(got, float):
                got = Decimal(str(got))  # SQLite keeps NUMERIC as REAL
            assert got == value, (code, item)
        checked += 1
    assert checked == len(LOOKUPS) - (0 if HTTP_READY else 1)


def test_the_http_department_answers_a_batch_with_its_envelope(demo_sources: Sources) -> None:
    app = create_department_app(demo_sources.http_database, api_key=DEMO_DEPARTMENT_KEY)
    client = TestClient(app)
    headers = {"X-Api-Key": DEMO_DEPARTMENT_KEY}
    body = {"aac002": [cast.BUYER_ID, NOBODY], "fields": ["aac003", "aab004"]}
    response = client.post("/api/v1/cbxx/query", json=body, headers=headers)
    assert response.status_code == 200
    document = response.json()
    assert document["code"] == 0
    assert document["data"]["items"] == [
        {"aac002": cast.BUYER_ID, "aac003": "王晓明", "aab004": cast.COMPANY_NAME}
    ]
    card = client.post("/api/v1/sbk/query", json={"aac002": [cast.BUYER_ID]}, headers=headers)
    assert card.json()["data"]["items"][0]["aac003"] == "王晓明"


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code"),
    [
        ("/api/v1/cbxx/query", {"aac002": [cast.BUYER_ID]}, {}, 401, 40101),
        ("/api/v1/cbxx/query", {"aac002": [cast.BUYER_ID]}, {"X-Api-Key": "wrong"}, 401, 40101),
        ("/api/v1/nothing/query", {"aac002": [cast.BUYER_ID]}, None, 404, 40401),
        ("/api/v1/cbxx/query", {"aac002": [NOBODY] * 101}, None, 400, 40002),
        ("/api/v1/cbxx/query", {"aac002": [NOBODY], "fields": ["aac003", "x' OR 1=1"]}, None,
         400, 40003),
        ("/api/v1/cbxx/query", {"aac002": []}, None, 400, 40001),
        ("/api/v1/cbxx/query", {"keys": [NOBODY]}, None, 400, 40001),
    ],
)  # fmt: skip
def test_the_http_department_refuses_what_a_real_one_would(
    demo_sources: Sources,
    path: str,
    body: dict[str, object],
    headers: dict[str, str] | None,
    status: int,
    code: int,
) -> None:
    app = create_department_app(demo_sources.http_database, api_key=DEMO_DEPARTMENT_KEY)
    sent = {"X-Api-Key": DEMO_DEPARTMENT_KEY} if headers is None else headers
    response = TestClient(app).post(path, json=body, headers=sent)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["data"] is None
