"""Record pulls end to end on the demo province: real grants, real connectors, the log."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.demo.sources import cast
from tests.records.support import (
    BUYER,
    COMPANY,
    DEED_TAX,
    ID_CARD,
    ID_ITEMS,
    MARRIAGE,
    NOBODY,
    PROPERTY,
    SELLER,
    SOCIAL_INSURANCE,
    TRANSFER,
    WINDOW,
    entries,
    grant_esf_transfer,
    headers,
    last_seq,
    lookup,
    request_grant,
)


def _canonical_sha256(records: list[dict[str, Any]]) -> str:
    text = json.dumps(records, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_window_system_pulls_a_batch_with_provenance_and_a_verifiable_hash(
    hub: TestClient, app: FastAPI
) -> None:
    grants = grant_esf_transfer(hub, app)
    id_grant = next(g["id"] for g in grants if g["resource"] == ID_CARD)
    before = last_seq(app)
    response = lookup(hub, app, ID_CARD, keys=[SELLER, BUYER, NOBODY], case_id="ESF-2026-0001")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "allowed" and body["items"] == ID_ITEMS
    assert body["resource"] == {
        "code": ID_CARD,
        "name": "居民身份证信息",
        "version": "1.0",
        "status": "published",
        "provider": "zj-gat",
        "provider_name": "浙江省公安厅",
        "update_cycle": "realtime",
    }
    assert body["grants"] == dict.fromkeys(ID_ITEMS, id_grant)
    assert body["missing"] == [NOBODY] and body["truncated"] is False
    seller, buyer = body["records"]
    assert seller["key"] == SELLER and buyer["key"] == BUYER
    assert seller["values"]["name"] == "陈建国"
    assert seller["values"]["address"] == cast.PROPERTY_ADDRESS
    assert seller["values"]["id_number"] == SELLER  # a clear grant: nothing masked
    assert set(seller["values"]) == set(ID_ITEMS)  # only the items asked
    provenance = seller["provenance"]
    assert provenance["provider"] == "zj-gat" and provenance["resource"] == ID_CARD
    assert provenance["resource_version"] == "1.0" and provenance["update_cycle"] == "realtime"
    assert provenance["grant_ids"] == [id_grant]
    assert datetime.fromisoformat(provenance["retrieved_at"]).tzinfo is not None

    # The hash: recomputed from the body, equal to the header's and to the log's.
    digest = _canonical_sha256(body["records"])
    assert body["records_sha256"] == digest
    raw = base64.b64encode(bytes.fromhex(digest)).decode()
    assert response.headers["Records-Digest"] == f"sha-256=:{raw}:"
    assert response.headers["Cache-Control"] == "no-store"
    # The body carries `records` last, as the very bytes hashed.
    raw = response.content
    hashed = raw[raw.index(b',"records":') + len(b',"records":') : -1]
    assert hashlib.sha256(hashed).hexdigest() == digest

    # One entry per data subject, committed before the answer.
    logged = entries(app, before)
    assert [e.subject_key for e in logged] == [SELLER, BUYER, NOBODY]
    first, last = response.headers["X-Audit-Seq"].split("-")
    assert [int(first), int(last)] == [logged[0].seq, logged[-1].seq]
    for entry in logged:
        assert entry.decision == "allowed" and entry.outcome == 200
        assert entry.response_hash == digest
        assert entry.system == WINDOW and entry.department == "zj-zrzyt"
        assert entry.provider == "zj-gat" and entry.resource_code == ID_CARD
        assert entry.resource_version == "1.0" and entry.purpose == TRANSFER
        assert entry.case_id == "ESF-2026-0001" and entry.grant_ids == [id_grant]
        assert entry.items_requested == ID_ITEMS
        assert entry.request_id == response.headers["x-request-id"]
        assert entry.policy_version == body["policy_version"]
    assert logged[0].items_returned == ID_ITEMS and logged[0].record_count == 1
    assert logged[2].items_returned == [] and logged[2].record_count == 0


def test_the_one_key_get_takes_a_code_with_a_slash_and_is_not_shadowed(
    hub: TestClient, app: FastAPI
) -> None:
    grant_esf_transfer(hub, app)
    url = f"/v1/records/{ID_CARD}?key={SELLER}&items=name,address&purpose={TRANSFER}"
    response = hub.get(url, headers=headers(app, WINDOW))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resource"]["code"] == ID_CARD and body["items"] == ["name", "address"]
    assert body["records"][0]["values"] == {"name": "陈建国", "address": cast.PROPERTY_ADDRESS}
    assert entries(app)[-1].subject_key == SELLER
    # The batch route is POST only; the GET route does not take ".../lookup" as a code.
    wrong = hub.get(f"/v1/records/{ID_CARD}/lookup?key={SELLER}&items=name&purpose={TRANSFER}",
                    headers=headers(app, WINDOW))  # fmt: skip
    assert wrong.status_code == 404 and "no resource" in wrong.json()["detail"]
    assert (
        hub.post(f"/v1/records/{ID_CARD}", json={}, headers=headers(app, WINDOW)).status_code == 405
    )


def test_pulls_reach_every_kind_of_department_source(hub: TestClient, app: FastAPI) -> None:
    grant_esf_transfer(hub, app)
    # 民政 (SQLite), 自然资源 (DuckDB) by certificate number, 税务 (DuckDB), 人社 (HTTP API).
    cases: list[tuple[str, str, list[str], str, dict[str, Any]]] = [
        (MARRIAGE, SELLER, ["marital_status", "spouse_name"], TRANSFER,
         {"marital_status": "已婚", "spouse_name": "沈丽华"}),
        (PROPERTY, cast.PROPERTY_CERT_NO, ["owner_name", "building_area"], TRANSFER,
         {"owner_name": "陈建国、沈丽华", "building_area": "89.37"}),
        (DEED_TAX, BUYER, ["taxpayer_name", "tax_amount", "paid_on"], TRANSFER,
         {"taxpayer_name": "王晓明", "tax_amount": "32800.00", "paid_on": "2026-10-20"}),
        (SOCIAL_INSURANCE, BUYER, ["name", "insured_region"], "330000-ZJ-001",
         {"name": "王晓明"}),
    ]  # fmt: skip
    for code, key, items, purpose, expected in cases:
        response = lookup(hub, app, code, keys=[key], items=items, purpose=purpose)
        assert response.status_code == 200, (code, response.text)
        values = response.json()["records"][0]["values"]
        for item, value in expected.items():
            got = values[item]
            if item in ("building_area", "tax_amount"):
                got = f"{float(got):.2f}"  # SQLite/DuckDB NUMERIC: exact text either way
            assert got == value, (code, item)


def test_a_company_is_pulled_by_its_credit_code(hub: TestClient, app: FastAPI) -> None:
    # 营业执照 is 无条件共享: the request is approved at once, by rule.
    grant = request_grant(
        hub,
        app,
        "scjgj-admin",
        resource=COMPANY,
        items=["uscc", "company_name", "registered_capital"],
        purposes=["company-start"],
    )
    assert grant["status"] == "approved"
    response = lookup(
        hub,
        app,
        COMPANY,
        who="zj-scjgj-window",
        keys=[cast.COMPANY_USCC],
        items=["company_name", "registered_capital"],
        purpose="company-start",
    )
    assert response.status_code == 200, response.text
    values = response.json()["records"][0]["values"]
    assert values["company_name"] == cast.COMPANY_NAME
    assert float(values["registered_capital"]) == 5_000_000


def test_partial_allow_returns_the_granted_items_and_lists_the_others(
    hub: TestClient, app: FastAPI
) -> None:
    grant_esf_transfer(hub, app)
    before = last_seq(app)
    response = lookup(hub, app, ID_CARD, items=["name", "photo", "gender"], partial="allow")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "partial"
    assert body["items"] == ["name"] and body["denied_items"] == ["photo", "gender"]
    assert body["records"][0]["values"] == {"name": "陈建国"}
    (entry,) = entries(app, before)
    assert entry.decision == "partial" and entry.outcome == 200
    assert entry.items_requested == ["name", "photo", "gender"]
    assert entry.items_returned == ["name"]
    assert entry.reason == "items outside the grant: photo, gender"
    assert entry.response_hash == body["records_sha256"]


def test_a_masked_grant_masks_by_sensitivity(hub: TestClient, app: FastAPI) -> None:
    # 民政 may see ID card data of applicants for 结婚登记, masked only.
    grant = request_grant(
        hub,
        app,
        "mzt-admin",
        resource=ID_CARD,
        items=["id_number", "name", "address", "birth_date", "photo", "issuing_authority"],
        purposes=["330000-MZ-001"],
        masked=True,
    )
    assert grant["status"] == "approved" and grant["masked"] is True
    response = lookup(
        hub,
        app,
        ID_CARD,
        who="zj-mzt-backoffice",
        items=["id_number", "name", "address", "birth_date", "photo", "issuing_authority"],
        purpose="330000-MZ-001",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    values = body["records"][0]["values"]
    assert values["id_number"] == "330106********4217"
    assert values["name"] == "陈**"
    assert values["address"] == "浙江省杭州市西湖区****"
    assert values["birth_date"] == "1978-**-**"
    assert values["photo"] is None  # a picture cannot be half shown: withheld
    assert values["issuing_authority"] == "杭州市公安局西湖分局"  # 公开 (1): in clear
    assert body["masked_items"] == ["id_number", "name", "address", "birth_date", "photo"]
    assert body["records"][0]["key"] == SELLER  # the caller's own key, as sent
    assert "陈建国" not in response.text
    assert entries(app)[-1].response_hash == _canonical_sha256(body["records"])
