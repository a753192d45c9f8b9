"""Submitting an application (一窗受理) for 二手房交易过户 on the demo province, end to end."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.applications.files import MaterialStore
from exchange.applications.models import IdempotencyRecord
from exchange.core.settings import Settings
from exchange.demo.applications import WINDOWS, example
from exchange.demo.sources import cast
from tests.applications.core_support import (
    ESF_PULLED,
    applications,
    entries,
    esf_body,
    grant_demo_windows,
    hub,
    last_seq,
    material,
    pdf_file,
    settings,
    submit,
    system_headers,
    user_headers,
)

__all__ = ["hub", "settings"]


def test_an_esf_transfer_is_accepted_with_its_materials_pulled(
    hub: TestClient, app: FastAPI
) -> None:
    before = last_seq(app)
    response = submit(hub, app)
    assert response.status_code == 201, response.text
    case = response.json()
    assert re.fullmatch(r"BJ330000-\d{8}-\d{6}", case["number"])
    assert case["status"] == "accepted" and case["visits"] == 1
    assert case["one_thing"] == {"code": "esf-transfer", "name": "二手房交易过户一件事"}
    assert case["window"] == {"department": "zj-zrzyt", "system": "zj-zrzyt-window"}
    assert case["applicant"]["identifiers"]["resident_id"] == cast.SELLER_ID
    assert [m["code"] for m in case["materials"] if m["status"] == "fetched"] == ESF_PULLED
    seller = material(case, "seller_id")
    assert seller["evidence"]["name"] == "陈建国"
    assert seller["evidence"]["address"] == cast.PROPERTY_ADDRESS
    assert seller["provenance"]["provider"] == "zj-gat"
    assert seller["subject_key"] == cast.SELLER_ID
    assert material(case, "buyer_id")["evidence"]["name"] == "王晓明"
    assert material(case, "property_cert")["evidence"]["owner_name"] == "陈建国、沈丽华"
    # Not in the catalogue, or 不予共享: the applicant brings them; nothing was asked for them.
    eligibility = material(case, "purchase_eligibility")
    assert eligibility["status"] == "must_submit"
    assert "not in the catalogue" in eligibility["reason"]
    tax = material(case, "buyer_tax_record")
    assert tax["status"] == "must_submit" and "不予共享" in tax["reason"]
    assert material(case, "power_of_attorney")["status"] == "must_submit"
    assert [e["action"] for e in case["events"]] == ["submitted"]
    assert case["assembly_ms"] is not None

    # Every pull is in the access log under the application's number, as a direct pull is.
    logged = {e.seq: e for e in entries(app, before)}
    assert len(logged) == len(ESF_PULLED)
    for m in case["materials"]:
        if m["status"] != "fetched":
            continue
        entry = logged[m["audit_seq"]]
        assert entry.case_id == case["number"] and entry.decision == "allowed"
        assert entry.purpose == m["service_item"] and entry.resource_code == m["resource"]
        assert entry.system == "zj-zrzyt-window" and entry.subject_key == m["subject_key"]
        # The evidence's hash is the entry's response hash: the case file checks against the log.
        assert entry.response_hash == m["evidence_sha256"]


def test_the_stored_evidence_hashes_to_its_recorded_sha256(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    case = submit(hub, app).json()
    (application,) = applications(db)
    for row in application.materials:
        if row.status != "fetched":
            continue
        text = json.dumps(row.evidence, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha256(text.encode()).hexdigest() == row.evidence_sha256
    assert application.number == case["number"]


def test_the_same_key_replays_the_same_bytes_and_stores_one_application(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    first = submit(hub, app, key="esf-0001")
    again = submit(hub, app, key="esf-0001")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert len(applications(db)) == 1
    other = submit(hub, app, esf_body(consent_to_fetch=False), key="esf-0001")
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(applications(db)) == 1


def test_a_submission_without_an_idempotency_key_is_refused(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    window = system_headers(app, "zj-zrzyt-window", "zj-zrzyt")
    response = hub.post("/v1/applications", json=esf_body(), headers=window)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert applications(db) == []


def _nothing_stored(db: Session) -> None:
    assert applications(db) == []
    assert db.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_bad_input_is_refused_naming_it_before_anything_is_stored(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    before = last_seq(app)
    unknown = submit(hub, app, esf_body(one_thing="moving-house"))
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "one_thing", "message": "no one-thing 'moving-house'"}
    ]
    bad_id = esf_body()
    bad_id["applicant"]["identifiers"]["resident_id"] = "330106197803154218"
    checked = submit(hub, app, bad_id)
    assert checked.status_code == 422
    assert checked.json()["errors"][0]["field"] == "applicant.identifiers.resident_id"
    assert "check" in checked.json()["errors"][0]["message"]
    baby = esf_body()
    baby["applicant"]["identifiers"]["newborn_resident_id"] = "330102202610080028"
    checked = submit(hub, app, baby)
    assert checked.status_code == 422
    assert checked.json()["errors"][0]["field"] == "applicant.identifiers.newborn_resident_id"
    buyer = submit(hub, app, esf_body(material_keys={"buyer_id": "330212199011083118"}))
    assert buyer.status_code == 422
    assert buyer.json()["errors"][0]["field"] == "material_keys.buyer_id"
    twice = submit(
        hub,
        app,
        esf_body(files=[pdf_file("power_of_attorney"), pdf_file("power_of_attorney")]),
    )
    assert twice.status_code == 422
    assert "power_of_attorney uploaded twice" in twice.text
    big = PDF_HEAD + b"0" * (app.state.settings.application_file_max_bytes + 1)
    too_large = submit(hub, app, esf_body(files=[pdf_file("power_of_attorney", big)]))
    assert too_large.status_code == 413
    assert "power_of_attorney.pdf" in too_large.json()["detail"]
    not_minor = submit(
        hub,
        app,
        esf_body(pending=[{"material": "sale_contract", "promised_by": "2030-01-01"}]),
    )
    assert not_minor.status_code == 422
    assert "sale_contract is not minor" in not_minor.text
    greedy = submit(hub, app, esf_body(budget_ms=60_000))
    assert greedy.status_code == 422 and greedy.json()["errors"][0]["field"] == "budget_ms"
    _nothing_stored(db)
    # Each refusal is in the access log as denied, as a refused pull is.
    denied = entries(app, before)
    assert denied and {e.decision for e in denied} == {"denied"}
    assert {e.outcome for e in denied} == {413, 422}


PDF_HEAD = b"%PDF-1.4\n"


def test_only_department_systems_and_administrators_submit(
    hub: TestClient, app: FastAPI, db: Session
) -> None:
    auditor = user_headers(app, "auditor", "zj-dsj", ["auditor"])
    response = submit(hub, app, auth=auditor)
    assert response.status_code == 403
    _nothing_stored(db)


def test_the_window_department_is_the_callers_and_its_grants_decide(
    hub: TestClient, app: FastAPI
) -> None:
    """zj-scjgj's window holds no grant for 二手房交易过户: each pull is refused, naming it."""
    other = system_headers(app, "zj-scjgj-window", "zj-scjgj")
    before = last_seq(app)
    case = submit(hub, app, auth=other).json()
    assert case["window"]["department"] == "zj-scjgj"
    seller = material(case, "seller_id")
    assert seller["status"] == "refused"
    assert "301001002/000002" in seller["reason"] and "330000-ZR-001" in seller["reason"]
    assert "name" in seller["reason"] and "zj-scjgj" in seller["reason"]
    denied = [e for e in entries(app, before) if e.decision == "denied"]
    assert len(denied) == len(ESF_PULLED)
    assert all(e.case_id == case["number"] and e.outcome == 403 for e in denied)


def test_without_consent_nothing_is_pulled(hub: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    case = submit(hub, app, esf_body(consent_to_fetch=False)).json()
    statuses = {m["status"] for m in case["materials"]}
    assert statuses == {"must_submit"}
    assert "consent_to_fetch" in material(case, "seller_id")["reason"]
    logged = entries(app, before)
    assert len(logged) == 1 and logged[0].record_count == 0 and logged[0].resource_code is None


def test_files_brought_are_stored_by_hash(hub: TestClient, app: FastAPI) -> None:
    content = PDF_HEAD + "不动产登记申请书".encode()
    case = submit(hub, app, esf_body(files=[pdf_file("registration_application", content)])).json()
    brought = material(case, "registration_application")
    sha = hashlib.sha256(content).hexdigest()
    assert brought["status"] == "submitted"
    assert brought["files"] == [
        {
            "filename": "registration_application.pdf",
            "content_type": "application/pdf",
            "size": len(content),
            "sha256": sha,
        }
    ]
    store = MaterialStore(app.state.settings.effective_materials_dir)
    assert store.read(sha) == content
    assert base64.b64encode(content)  # sent as base64, kept as bytes


def test_a_minor_material_is_accepted_pending_its_promised_date(
    hub: TestClient, app: FastAPI
) -> None:
    promised = (date.today() + timedelta(days=10)).isoformat()
    body = {
        "one_thing": "newborn",
        "applicant": {
            "kind": "person",
            "name": "吴佳怡",
            "identifiers": {"resident_id": cast.MOTHER_ID, "newborn_resident_id": cast.NEWBORN_ID},
        },
        "consent_to_fetch": True,
        "pending": [
            {"material": "birth_vaccination", "promised_by": promised},
            {"material": "newborn_photo", "promised_by": promised},
        ],
    }
    window = system_headers(app, "zj-wjw-window", "zj-wjw")
    response = submit(hub, app, body, auth=window)
    assert response.status_code == 201, response.text
    case = response.json()
    vaccination = material(case, "birth_vaccination")
    assert vaccination["status"] == "accepted_pending"
    assert vaccination["promised_by"] == promised
    assert material(case, "newborn_photo")["status"] == "accepted_pending"
    # zj-wjw was granted nothing in this test: its pulls are refused, naming the grant.
    assert material(case, "birth_certificate")["status"] == "refused"


def test_the_demo_examples_go_through_end_to_end(
    hub: TestClient, app: FastAPI, demo_bound: Settings
) -> None:
    """``datarun demo application-example`` bodies, as the README's curl sequence sends them."""
    grant_demo_windows(app, demo_bound)
    expected = {
        "esf-transfer": (
            "zj-zrzyt",
            {"seller_id": "fetched", "registration_application": "submitted"},
        ),
        "newborn": (
            "zj-wjw",
            {"birth_certificate": "fetched", "newborn_photo": "accepted_pending"},
        ),
        "company-start": (
            "zj-scjgj",
            {"name_declaration": "fetched", "seal_filing": "accepted_pending"},
        ),
    }
    for one_thing, (department, statuses) in expected.items():
        window = system_headers(app, WINDOWS[one_thing], department)
        response = submit(hub, app, example(one_thing), auth=window)
        assert response.status_code == 201, (one_thing, response.text)
        case = response.json()
        for code, status in statuses.items():
            assert material(case, code)["status"] == status, (one_thing, material(case, code))
        assert not [m for m in case["materials"] if m["status"] in ("refused", "unavailable")], (
            one_thing,
            [(m["code"], m["status"], m["reason"]) for m in case["materials"]],
        )
