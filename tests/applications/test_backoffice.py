"""Back office (并联办理): parts per department, decisions, return to the window, events.

二手房交易过户 (esf-transfer) of the demo province has three service items: 住建厅
(zj-zjt, 交易), 税务局 (zj-tax, 税) and 自然资源厅 (zj-zrzyt, 登记, also the window).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.applications import backoffice
from exchange.applications.models import Application, ApplicationEvent
from exchange.demo.seed import SeedResult
from tests.supervision.cases import create_application, headers

DEPARTMENT_SYSTEM = {
    "zj-tax": "zj-tax-backoffice",
    "zj-zjt": "zj-zjt-backoffice",
    "zj-zrzyt": "zj-zrzyt-backoffice",
}


def in_review(db: Session, **fields: Any) -> Application:
    """Commit an esf-transfer application in review with its three pending parts."""
    application = create_application(db, status="in_review", **fields)
    backoffice.open_parts(db, application, actor="zj-zrzyt-window")
    db.commit()
    return application


def part_of(application: Application, department: str) -> int:
    """Return the id of ``department``'s part of ``application``."""
    return next(p.id for p in application.parts if p.department == department)


def decide(
    client: TestClient, app: FastAPI, part_id: int, who: str, decision: str, reason: str | None
) -> Any:
    """Post a decision and return the response."""
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    return client.post(f"/v1/tasks/{part_id}/decision", json=body, headers=headers(app, who))


def approve(client: TestClient, app: FastAPI, application: Application, department: str) -> Any:
    """Approve ``department``'s part as its back-office system."""
    part_id = part_of(application, department)
    return decide(client, app, part_id, DEPARTMENT_SYSTEM[department], "approve", None)


def events(db: Session, application: Application) -> list[ApplicationEvent]:
    """Return the application's history, oldest first (fresh from the database)."""
    db.expire_all()
    query = select(ApplicationEvent).where(ApplicationEvent.application_id == application.id)
    return list(db.scalars(query.order_by(ApplicationEvent.id)))


def current(db: Session, application: Application) -> Application:
    """Reload the application from the database."""
    db.expire_all()
    return db.get_one(Application, application.id)


def test_open_parts_gives_each_department_of_the_one_thing_its_part(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = create_application(db, status="in_review")
    parts = backoffice.open_parts(db, application, actor="zj-zrzyt-window")
    db.commit()
    assert [(p.service_item, p.department, p.status) for p in parts] == [
        ("330000-SW-001", "zj-tax", "pending"),
        ("330000-ZJ-001", "zj-zjt", "pending"),
        ("330000-ZR-001", "zj-zrzyt", "pending"),
    ]
    history = events(db, application)
    assert [e.action for e in history] == ["part_opened"] * 3
    assert {e.actor for e in history} == {"zj-zrzyt-window"}


def test_every_part_approved_completes_the_application(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    for department in ("zj-tax", "zj-zjt"):
        response = approve(client, app, application, department)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "approved"
        assert response.json()["application_status"] == "in_review"
    last = approve(client, app, application, "zj-zrzyt")
    assert last.json()["application_status"] == "completed"
    done = current(db, application)
    assert done.status == "completed"
    assert done.completed_at is not None
    tail = [(e.action, e.actor, e.from_status, e.to_status) for e in events(db, application)][3:]
    assert tail == [
        ("part_approved", "zj-tax-backoffice", None, None),
        ("part_approved", "zj-zjt-backoffice", None, None),
        ("part_approved", "zj-zrzyt-backoffice", None, None),
        ("completed", "zj-zrzyt-backoffice", "in_review", "completed"),
    ]
    assert all(e.at is not None for e in events(db, application))


def test_a_department_lists_its_own_tasks_by_status_page_by_page(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    first, second, third = in_review(db), in_review(db), in_review(db)
    approve(client, app, first, "zj-tax")
    tax = headers(app, "zj-tax-backoffice")
    listed = client.get("/v1/tasks", headers=tax).json()
    assert listed["total"] == 3
    assert {t["department"] for t in listed["items"]} == {"zj-tax"}
    assert "applicant_name" not in listed["items"][0]  # no personal data on these routes
    pending = client.get("/v1/tasks?status=pending&size=1&page=2", headers=tax).json()
    assert pending["total"] == 2
    assert [t["number"] for t in pending["items"]] == [third.number]
    approved = client.get("/v1/tasks", params={"status": "approved"}, headers=tax).json()
    assert [(t["number"], t["decided_by"]) for t in approved["items"]] == [
        (first.number, "zj-tax-backoffice")
    ]
    assert second.number in {t["number"] for t in listed["items"]}
    # Another department's list is not the tax office's to read; the auditor reads all.
    other = client.get("/v1/tasks?department=zj-zjt", headers=tax)
    assert other.status_code == 403
    everything = client.get("/v1/tasks", headers=headers(app, "auditor")).json()
    assert everything["total"] == 9


def test_a_rejection_needs_a_reason_and_returns_the_application_to_the_window(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    part_id = part_of(application, "zj-tax")
    for missing in (None, "   "):
        refused = decide(client, app, part_id, "zj-tax-backoffice", "reject", missing)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "reason"
    assert current(db, application).status == "in_review"
    rejected = decide(client, app, part_id, "tax-admin", "reject", "完税凭证金额不符")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decided_by"] == "user:tax-admin"
    returned = current(db, application)
    assert returned.status == "returned"
    last = events(db, application)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "returned",
        "in_review",
        "returned",
        "完税凭证金额不符",
    )
    # While it is back at the window, no other department decides (409).
    late = approve(client, app, application, "zj-zjt")
    assert late.status_code == 409
    assert "returned" in late.json()["detail"]


def test_deciding_another_departments_part_is_refused_and_recorded(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    part_id = part_of(application, "zj-tax")
    for who in ("zj-zjt-backoffice", "zjt-admin", "province-admin", "auditor"):
        refused = decide(client, app, part_id, who, "approve", None)
        assert refused.status_code == 403, (who, refused.text)
        assert "zj-tax" in refused.json()["detail"]
    denied = [e for e in events(db, application) if e.action == "denied_attempt"]
    assert [e.actor for e in denied] == [
        "zj-zjt-backoffice",
        "user:zjt-admin",
        "user:province-admin",
        "user:auditor",
    ]
    assert denied[0].detail == {"attempted": f"decide task {part_id}: approve"}
    tax_part = next(p for p in current(db, application).parts if p.department == "zj-tax")
    assert tax_part.status == "pending"


def test_a_decided_part_and_an_application_not_in_review_answer_409(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    assert approve(client, app, application, "zj-tax").status_code == 200
    again = decide(
        client, app, part_of(application, "zj-tax"), "zj-tax-backoffice", "reject", "再议"
    )
    assert again.status_code == 409
    assert "already approved" in again.json()["detail"]
    window = headers(app, "zj-zrzyt-window")
    withdrawn = client.post(
        f"/v1/tasks/applications/{application.number}/withdraw",
        json={"reason": "申请人撤回"},
        headers=window,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    after = approve(client, app, application, "zj-zjt")
    assert after.status_code == 409
    assert "withdrawn" in after.json()["detail"]
    twice = client.post(f"/v1/tasks/applications/{application.number}/withdraw", headers=window)
    assert twice.status_code == 409
    missing = decide(client, app, 999_999, "zj-tax-backoffice", "approve", None)
    assert missing.status_code == 404


def test_resubmit_reopens_the_rejected_part_and_counts_the_visit(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    number = application.number
    approve(client, app, application, "zj-zjt")
    decide(
        client, app, part_of(application, "zj-tax"), "zj-tax-backoffice", "reject", "缺契税申报表"
    )
    url = f"/v1/tasks/applications/{number}/resubmit"
    not_window = client.post(url, json={}, headers=headers(app, "zj-tax-backoffice"))
    assert not_window.status_code == 403
    bad = client.post(
        url, json={"applicant_visited": "maybe"}, headers=headers(app, "zj-zrzyt-window")
    )
    assert bad.status_code == 422
    resubmitted = client.post(
        url, json={"applicant_visited": True}, headers=headers(app, "zj-zrzyt-window")
    )
    assert resubmitted.status_code == 200, resubmitted.text
    state = resubmitted.json()
    assert (state["status"], state["visits"]) == ("in_review", 2)
    assert {p["department"]: p["status"] for p in state["parts"]} == {
        "zj-tax": "pending",
        "zj-zjt": "approved",
        "zj-zrzyt": "pending",
    }
    again = client.post(url, json={}, headers=headers(app, "zj-zrzyt-window"))
    assert again.status_code == 409  # in review, not returned
    approve(client, app, application, "zj-tax")
    done = approve(client, app, application, "zj-zrzyt")
    assert done.json()["application_status"] == "completed"
    actions = [(e.action, e.from_status, e.to_status) for e in events(db, application)]
    assert ("resubmitted", "returned", "in_review") in actions
    assert ("part_reopened", None, None) in actions
    resubmit = next(e for e in events(db, application) if e.action == "resubmitted")
    assert resubmit.detail == {"applicant_visited": True, "visits": 2}
    assert resubmit.actor == "zj-zrzyt-window"
    assert current(db, application).visits == 2
    denied = next(e for e in events(db, application) if e.action == "denied_attempt")
    assert (denied.actor, denied.detail) == (
        "zj-tax-backoffice",
        {"attempted": "resubmit application"},
    )


def test_a_resubmit_without_a_visit_keeps_one_trip(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    application = in_review(db)
    decide(client, app, part_of(application, "zj-zjt"), "zjt-admin", "reject", "合同缺页")
    response = client.post(
        f"/v1/tasks/applications/{application.number}/resubmit",
        json={"applicant_visited": False},
        headers=headers(app, "zrzyt-admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["visits"] == 1
