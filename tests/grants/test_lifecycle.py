"""The grant lifecycle through the API: request, rule decisions, approve, refuse, revoke, 复核."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.demo.seed import SeedResult
from exchange.grants.rules import add_years
from exchange.grants.workdays import add_working_days
from tests.grants.support import (
    PIT,
    SEAL,
    actions,
    approved,
    file_request,
    headers,
    policy_version,
    today,
)


def test_conditional_request_waits_for_the_provider_ten_working_days(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    assert grant["status"] == "pending"
    assert grant["consumer"] == "zj-zrzyt" and grant["provider"] == "zj-gat"
    assert grant["consumer_system"] is None
    assert grant["due_on"] == add_working_days(today(), 10).isoformat()
    assert grant["overdue"] is False and grant["in_force"] is False
    assert grant["starts_on"] == today().isoformat()
    assert grant["ends_on"] == (add_years(today(), 1) - timedelta(days=1)).isoformat()
    [event] = grant["events"]
    assert event["action"] == "requested"
    assert event["actor"] == "user:zrzyt-admin"
    assert event["reason"] == "二手房转移登记核验买卖双方身份"
    assert event["detail"]["items"] == ["id_number", "name", "address"]


def test_unconditional_request_is_approved_at_once_by_rule(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    before = policy_version(db)
    grant = file_request(client, app, resource=SEAL, items=["seal_record_no", "uscc"])
    assert grant["status"] == "approved" and grant["in_force"] is True
    assert grant["decided_by"] == "rule:unconditional"
    assert grant["due_on"] is None
    assert grant["certified_on"] == today().isoformat()
    assert actions(grant) == ["requested", "auto_approved"]
    assert grant["events"][1]["actor"] == "rule:unconditional"
    assert policy_version(db) > before


def test_not_shared_request_is_refused_at_once_quoting_the_legal_basis(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    before = policy_version(db)
    grant = file_request(client, app, resource=PIT, items=["id_number", "tax_paid"])
    assert grant["status"] == "refused"
    assert grant["decided_by"] == "rule:not_shared"
    assert "不予共享" in grant["decision_reason"]
    assert "《中华人民共和国税收征收管理法》" in grant["decision_reason"]
    assert actions(grant) == ["requested", "refused_by_rule"]
    assert policy_version(db) == before

    response = client.post(
        f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, "province-admin")
    )
    assert response.status_code == 409, response.text
    assert "不予共享" in response.json()["detail"]


def test_provider_approves_narrowing_items_and_period(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    before = policy_version(db)
    end = today() + timedelta(days=90)
    response = client.post(
        f"/v1/grants/{grant['id']}/approve",
        json={"items": ["id_number", "name"], "ends_on": end.isoformat(), "reason": "住址不需要"},
        headers=headers(app, "gat-admin"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "approved" and body["in_force"] is True
    assert body["items"] == ["id_number", "name"]
    assert body["ends_on"] == end.isoformat()
    assert body["decided_by"] == "user:gat-admin"
    assert body["decision_reason"] == "住址不需要"
    assert body["recertify_by"] == add_years(today(), 1).isoformat()
    event = body["events"][-1]
    assert event["action"] == "approved" and event["actor"] == "user:gat-admin"
    assert event["detail"]["narrowed"]["items"] == {
        "requested": ["id_number", "name", "address"],
        "granted": ["id_number", "name"],
    }
    assert policy_version(db) > before


def test_approval_never_widens_a_request(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    url = f"/v1/grants/{grant['id']}/approve"
    too_late = (add_years(today(), 2)).isoformat()
    for body, field in (
        ({"items": ["id_number", "photo"]}, "items[1]"),
        ({"items": []}, "items"),
        ({"ends_on": too_late}, "ends_on"),
        ({"starts_on": (today() - timedelta(days=1)).isoformat()}, "starts_on"),
    ):
        response = client.post(url, json=body, headers=headers(app, "gat-admin"))
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]
    shown = client.get(f"/v1/grants/{grant['id']}", headers=headers(app, "gat-admin")).json()
    assert shown["status"] == "pending" and actions(shown) == ["requested"]


def test_refusal_needs_a_reason(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    url = f"/v1/grants/{grant['id']}/refuse"
    for body in ({}, {"reason": "   "}):
        response = client.post(url, json=body, headers=headers(app, "gat-admin"))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "reason"
    response = client.post(
        url, json={"reason": "用途与身份核验无关"}, headers=headers(app, "gat-admin")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "refused" and body["decision_reason"] == "用途与身份核验无关"
    assert body["events"][-1]["action"] == "refused"
    assert body["events"][-1]["actor"] == "user:gat-admin"
    again = client.post(url, json={"reason": "再拒"}, headers=headers(app, "gat-admin"))
    assert again.status_code == 409


def test_revocation_needs_a_reason_and_ends_the_grant_at_once(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    grant = approved(client, app)
    url = f"/v1/grants/{grant['id']}/revoke"
    missing = client.post(url, json={}, headers=headers(app, "gat-admin"))
    assert missing.status_code == 422
    before = policy_version(db)
    response = client.post(
        url, json={"reason": "发现超范围使用"}, headers=headers(app, "gat-admin")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "revoked" and body["in_force"] is False
    assert body["ended_at"] is not None
    assert body["events"][-1] | {"at": None} == {
        "at": None,
        "actor": "user:gat-admin",
        "action": "revoked",
        "reason": "发现超范围使用",
        "detail": {},
    }
    assert policy_version(db) > before
    again = client.post(url, json={"reason": "again"}, headers=headers(app, "province-admin"))
    assert again.status_code == 409


def test_pending_request_cannot_be_revoked_or_recertified(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    gat = headers(app, "gat-admin")
    revoke = client.post(f"/v1/grants/{grant['id']}/revoke", json={"reason": "x"}, headers=gat)
    assert revoke.status_code == 409
    recertify = client.post(f"/v1/grants/{grant['id']}/recertify", headers=gat)
    assert recertify.status_code == 409


def test_recertification_restarts_the_yearly_clock(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    from tests.grants.support import set_dates

    grant = approved(client, app)
    set_dates(db, grant["id"], certified_on=today() - timedelta(days=300))
    response = client.post(
        f"/v1/grants/{grant['id']}/recertify",
        json={"reason": "年度复核：仍需使用"},
        headers=headers(app, "gat-admin"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["certified_on"] == today().isoformat()
    assert body["recertify_by"] == add_years(today(), 1).isoformat()
    event = body["events"][-1]
    assert event["action"] == "recertified" and event["reason"] == "年度复核：仍需使用"
    assert event["detail"]["previous"] == (today() - timedelta(days=300)).isoformat()


def test_province_admin_decides_for_any_department(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = file_request(client, app)
    response = client.post(
        f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, "province-admin")
    )
    assert response.status_code == 200
    assert response.json()["decided_by"] == "user:province-admin"


def test_deciding_another_departments_grant_is_forbidden_and_kept_in_its_history(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    pending = file_request(client, app)
    live = file_request(client, app, resource=SEAL, items=["uscc"])
    before = policy_version(db)
    attempts = [
        ("mzt-admin", pending["id"], "approve", {}),
        ("mzt-admin", pending["id"], "refuse", {"reason": "不是我的"}),
        ("zrzyt-admin", pending["id"], "approve", {}),  # the consumer approving its own
        ("auditor", pending["id"], "approve", {}),
        ("zj-gat-backoffice", pending["id"], "approve", {}),  # a system of the provider
        ("mzt-admin", live["id"], "revoke", {"reason": "不是我的"}),
        ("mzt-admin", live["id"], "recertify", {}),
    ]
    for who, grant_id, verb, body in attempts:
        response = client.post(
            f"/v1/grants/{grant_id}/{verb}", json=body, headers=headers(app, who)
        )
        assert response.status_code == 403, (who, verb, response.text)
    assert policy_version(db) == before

    shown = client.get(f"/v1/grants/{pending['id']}", headers=headers(app, "gat-admin")).json()
    assert shown["status"] == "pending"
    denied = [e for e in shown["events"] if e["action"] == "denied_attempt"]
    assert [(e["actor"], e["detail"]["attempted"]) for e in denied] == [
        ("user:mzt-admin", "approve"),
        ("user:mzt-admin", "refuse"),
        ("user:zrzyt-admin", "approve"),
        ("user:auditor", "approve"),
        ("zj-gat-backoffice", "approve"),
    ]
    assert all(e["at"] and "may not" in e["reason"] for e in denied)
    shown = client.get(f"/v1/grants/{live['id']}", headers=headers(app, "gat-admin")).json()
    assert shown["status"] == "approved"
    assert actions(shown)[-2:] == ["denied_attempt", "denied_attempt"]


def test_grant_history_reads_who_when_what_why(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    grant = approved(client, app)
    client.post(
        f"/v1/grants/{grant['id']}/revoke",
        json={"reason": "项目结束"},
        headers=headers(app, "province-admin"),
    )
    shown = client.get(f"/v1/grants/{grant['id']}", headers=headers(app, "zrzyt-admin")).json()
    assert [(e["action"], e["actor"], e["reason"]) for e in shown["events"]] == [
        ("requested", "user:zrzyt-admin", "二手房转移登记核验买卖双方身份"),
        ("approved", "user:gat-admin", None),
        ("revoked", "user:province-admin", "项目结束"),
    ]
    times = [e["at"] for e in shown["events"]]
    assert times == sorted(times)
