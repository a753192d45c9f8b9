"""The preview (预览): the applicant sees the pulled evidence, may decline it, brings files,
and the window confirms the case file into the back office (并联办理)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.applications.core_support import (
    PDF,
    WINDOW,
    entries,
    hub,
    last_seq,
    material,
    pdf_file,
    settings,
    submit,
    system_headers,
)
from tests.records.support import headers

__all__ = ["hub", "settings"]


def _post(client: TestClient, app: FastAPI, path: str, body: Any = None, who: str = WINDOW) -> Any:
    return client.post(f"/v1/applications/{path}", json=body, headers=headers(app, who))


def test_declining_pulled_evidence_drops_it_and_asks_the_applicant_for_it(
    hub: TestClient, app: FastAPI
) -> None:
    case = submit(hub, app).json()
    number = case["number"]
    seq = material(case, "seller_marital_status")["audit_seq"]
    before = last_seq(app)
    body = {"items": ["spouse_name", "spouse_id_number"], "reason": "本人不同意提供配偶信息"}
    response = _post(hub, app, f"{number}/materials/seller_marital_status/decline", body)
    assert response.status_code == 200, response.text
    declined = material(response.json(), "seller_marital_status")
    assert declined["status"] == "must_submit"
    assert declined["evidence"] is None and declined["provenance"] is None
    assert declined["declined_items"] == ["spouse_name", "spouse_id_number"]
    assert "本人不同意提供配偶信息" in declined["reason"]
    assert declined["audit_seq"] == seq  # the pull happened; the log keeps saying so
    assert response.json()["events"][-1]["action"] == "material_declined"
    logged = entries(app, before)
    assert logged and all(e.case_id == number and e.decision == "allowed" for e in logged)
    again = _post(hub, app, f"{number}/materials/seller_marital_status/decline", {})
    assert again.status_code == 409  # no longer fetched
    # Declining without a body declines every item of the material.
    whole = _post(hub, app, f"{number}/materials/seller_id/decline")
    assert material(whole.json(), "seller_id")["declined_items"] == [
        "id_number",
        "name",
        "address",
        "valid_until",
    ]


def test_a_decline_naming_an_unknown_item_or_material_is_refused(
    hub: TestClient, app: FastAPI
) -> None:
    number = submit(hub, app).json()["number"]
    bad_item = _post(hub, app, f"{number}/materials/seller_id/decline", {"items": ["photo"]})
    assert bad_item.status_code == 422 and "photo" in bad_item.text
    missing = _post(hub, app, f"{number}/materials/no_such/decline", {})
    assert missing.status_code == 404
    unknown = _post(hub, app, "BJ330000-20261127-999999/materials/seller_id/decline", {})
    assert unknown.status_code == 404


def test_a_file_brought_for_a_missing_material_makes_it_submitted(
    hub: TestClient, app: FastAPI
) -> None:
    number = submit(hub, app).json()["number"]
    item = pdf_file("power_of_attorney")
    del item["material"]
    response = _post(hub, app, f"{number}/materials/power_of_attorney/files", item)
    assert response.status_code == 200, response.text
    brought = material(response.json(), "power_of_attorney")
    assert brought["status"] == "submitted" and len(brought["files"]) == 1
    assert response.json()["events"][-1]["action"] == "file_added"
    twice = _post(hub, app, f"{number}/materials/power_of_attorney/files", item)
    assert twice.status_code == 422 and "power_of_attorney uploaded twice" in twice.text
    big = dict(item, content_base64=pdf_file("x", PDF + b"0" * 700_001)["content_base64"])
    too_large = _post(hub, app, f"{number}/materials/deed_tax_declaration/files", big)
    assert too_large.status_code == 413
    wrong = dict(item, content_type="text/plain")
    assert (
        _post(hub, app, f"{number}/materials/deed_tax_declaration/files", wrong).status_code == 422
    )
    fetched = _post(hub, app, f"{number}/materials/seller_id/files", item)
    assert fetched.status_code == 409 and "decline it" in fetched.text


def test_confirming_hands_the_case_to_every_department_involved(
    hub: TestClient, app: FastAPI
) -> None:
    number = submit(hub, app).json()["number"]
    response = _post(hub, app, f"{number}/confirm")
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "in_review" and case["confirmed_at"] is not None
    assert sorted((p["department"], p["service_item"], p["status"]) for p in case["parts"]) == [
        ("zj-tax", "330000-SW-001", "pending"),
        ("zj-zjt", "330000-ZJ-001", "pending"),
        ("zj-zrzyt", "330000-ZR-001", "pending"),
    ]
    actions = [e["action"] for e in case["events"]]
    assert actions[0] == "submitted" and actions[-1] == "confirmed"
    assert actions.count("part_opened") == 3
    assert _post(hub, app, f"{number}/confirm").status_code == 409
    # The preview is over: evidence can no longer be declined.
    late = _post(hub, app, f"{number}/materials/seller_id/decline", {})
    assert late.status_code == 409


def test_only_the_window_department_changes_its_application(hub: TestClient, app: FastAPI) -> None:
    number = submit(hub, app).json()["number"]
    before = last_seq(app)
    other = system_headers(app, "zj-mzt-backoffice", "zj-mzt")
    response = hub.post(f"/v1/applications/{number}/confirm", headers=other)
    assert response.status_code == 403
    denied = entries(app, before)
    assert [(e.decision, e.outcome, e.case_id) for e in denied] == [("denied", 403, number)]


def test_a_change_whose_entry_cannot_be_logged_is_not_made(hub: TestClient, app: FastAPI) -> None:
    number = submit(hub, app).json()["number"]
    audit = app.state.audit
    with audit.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
    try:
        assert _post(hub, app, f"{number}/confirm").status_code == 503
        declined = _post(hub, app, f"{number}/materials/seller_id/decline", {})
        assert declined.status_code == 503 and "陈建国" not in declined.text
    finally:
        with audit.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
    case = hub.get(f"/v1/applications/{number}", headers=headers(app, WINDOW)).json()
    assert case["status"] == "accepted" and case["parts"] == []
    assert material(case, "seller_id")["status"] == "fetched"
    assert [e["action"] for e in case["events"]] == ["submitted"]
