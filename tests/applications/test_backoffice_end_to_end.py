"""From the window to completion: submit, confirm, three departments decide, supervision counts.

Goes through the core's ``POST /v1/applications`` on the bound demo province (the core
helper's fixtures), then the back office and the supervision report.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.applications.core_support import hub, settings, submit
from tests.supervision.cases import headers

__all__ = ["hub", "settings"]

BACKOFFICE = {"zj-tax": "zj-tax-backoffice", "zj-zjt": "zj-zjt-backoffice"}


def tasks(client: TestClient, app: FastAPI, who: str, **params: Any) -> list[dict[str, Any]]:
    """Return the caller department's tasks."""
    response = client.get("/v1/tasks", params=params, headers=headers(app, who))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_submitted_application_is_decided_in_parallel_and_completes(
    hub: TestClient, app: FastAPI
) -> None:
    window = headers(app, "zj-zrzyt-window")
    submitted = submit(hub, app)
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["number"]
    confirmed = hub.post(f"/v1/applications/{number}/confirm", headers=window)
    assert confirmed.status_code == 200, confirmed.text
    assert {p["department"] for p in confirmed.json()["parts"]} == {"zj-tax", "zj-zjt", "zj-zrzyt"}

    # The tax office rejects; the window resubmits without a new visit; all approve.
    tax_task = next(t for t in tasks(hub, app, "zj-tax-backoffice") if t["number"] == number)
    rejected = hub.post(
        f"/v1/tasks/{tax_task['id']}/decision",
        json={"decision": "reject", "reason": "计税价格需复核"},
        headers=headers(app, "zj-tax-backoffice"),
    )
    assert rejected.json()["application_status"] == "returned"
    resubmitted = hub.post(
        f"/v1/tasks/applications/{number}/resubmit",
        json={"applicant_visited": False},
        headers=window,
    )
    assert resubmitted.json()["status"] == "in_review"
    for who in ("zj-tax-backoffice", "zj-zjt-backoffice", "zj-zrzyt-backoffice"):
        (task,) = tasks(hub, app, who, status="pending")
        decided = hub.post(
            f"/v1/tasks/{task['id']}/decision",
            json={"decision": "approve"},
            headers=headers(app, who),
        )
        assert decided.status_code == 200, decided.text
    assert decided.json()["application_status"] == "completed"

    case = hub.get(f"/v1/applications/{number}", headers=window).json()
    assert case["status"] == "completed"
    assert case["completed_at"] is not None
    assert case["visits"] == 1
    actions = [e["action"] for e in case["events"]]
    for action in ("confirmed", "part_rejected", "returned", "resubmitted", "completed"):
        assert action in actions, actions

    report = hub.get("/v1/supervision/one-things", headers=headers(app, "auditor")).json()
    esf = next(item for item in report["items"] if item["code"] == "esf-transfer")
    assert (esf["applications"], esf["completed"], esf["one_visit_rate"]) == (1, 1, 1.0)
    assert esf["materials"]["fetched"] > 0
