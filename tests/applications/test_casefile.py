"""Reading case files: who may, what the access log says, and the department's list."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.demo.sources import cast
from tests.applications.core_support import (
    entries,
    hub,
    last_seq,
    material,
    settings,
    submit,
    system_headers,
)
from tests.records.support import headers

__all__ = ["hub", "settings"]


def test_the_window_reads_the_case_file_and_each_subject_is_logged(
    hub: TestClient, app: FastAPI
) -> None:
    submitted = submit(hub, app).json()
    number = submitted["number"]
    before = last_seq(app)
    response = hub.get(f"/v1/applications/{number}", headers=headers(app, "zj-zrzyt-window"))
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["materials"] == submitted["materials"]
    logged = entries(app, before)
    subjects = {cast.SELLER_ID, cast.BUYER_ID, cast.PROPERTY_CERT_NO, cast.UNIT_NO}
    assert {e.subject_key for e in logged} == subjects
    for e in logged:
        assert e.decision == "allowed" and e.case_id == number and e.purpose == "esf-transfer"
        assert e.response_hash == hashlib.sha256(response.content).hexdigest()


def test_a_department_with_a_part_reads_it_and_others_are_refused(
    hub: TestClient, app: FastAPI
) -> None:
    number = submit(hub, app).json()["number"]
    tax = system_headers(app, "zj-tax-backoffice", "zj-tax")
    assert hub.get(f"/v1/applications/{number}", headers=tax).status_code == 403
    confirmed = hub.post(
        f"/v1/applications/{number}/confirm", headers=headers(app, "zj-zrzyt-window")
    )
    assert confirmed.status_code == 200
    read = hub.get(f"/v1/applications/{number}", headers=tax)
    assert read.status_code == 200
    assert material(read.json(), "seller_id")["evidence"]["name"] == "陈建国"
    before = last_seq(app)
    civil = system_headers(app, "zj-mzt-backoffice", "zj-mzt")
    refused = hub.get(f"/v1/applications/{number}", headers=civil)
    assert refused.status_code == 403
    assert "陈建国" not in refused.text
    denied = entries(app, before)
    assert [(e.decision, e.outcome, e.case_id, e.system) for e in denied] == [
        ("denied", 403, number, "zj-mzt-backoffice")
    ]
    missing = hub.get("/v1/applications/BJ330000-20261127-999999", headers=tax)
    assert missing.status_code == 404


def test_the_list_shows_the_departments_applications_without_personal_data(
    hub: TestClient, app: FastAPI
) -> None:
    numbers = [submit(hub, app).json()["number"] for _ in range(3)]
    window = headers(app, "zj-zrzyt-window")
    page = hub.get("/v1/applications?size=2", headers=window)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 3 and body["size"] == 2
    assert [a["number"] for a in body["items"]] == numbers[::-1][:2]
    assert body["items"][0]["materials"]["fetched"] == 9
    for secret in (cast.SELLER_ID, "陈建国", cast.PROPERTY_CERT_NO):
        assert secret not in page.text
    second = hub.get("/v1/applications?size=2&page=2", headers=window).json()
    assert [a["number"] for a in second["items"]] == numbers[:1]
    tax = system_headers(app, "zj-tax-backoffice", "zj-tax")
    assert hub.get("/v1/applications", headers=tax).json()["total"] == 0
    hub.post(f"/v1/applications/{numbers[0]}/confirm", headers=window)
    seen = hub.get("/v1/applications", headers=tax).json()
    assert [a["number"] for a in seen["items"]] == [numbers[0]]
    filtered = hub.get("/v1/applications?status=in_review", headers=window).json()
    assert filtered["total"] == 1
    assert hub.get("/v1/applications?status=nonsense", headers=window).status_code == 422
