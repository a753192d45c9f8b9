"""A pull naming a case (办件) must serve the caller's own department's case."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.applications.core_support import esf_body
from tests.records.support import (
    ID_CARD,
    SELLER,
    entries,
    grant_esf_transfer,
    headers,
    last_seq,
    lookup,
)


def test_a_pull_naming_another_departments_case_is_refused_and_logged(
    hub: TestClient, app: FastAPI
) -> None:
    grant_esf_transfer(hub, app)
    submitted = hub.post(
        "/v1/applications",
        json=esf_body(),
        headers={**headers(app, "zj-zrzyt-window"), "Idempotency-Key": "case-owner-1"},
    )
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["number"]
    before = last_seq(app)
    refused = lookup(hub, app, ID_CARD, who="zj-scjgj-window", case_id=number)
    assert refused.status_code == 403
    assert f"case {number} belongs to another department" in refused.json()["detail"]
    assert "陈建国" not in refused.text
    (entry,) = entries(app, before)
    assert (entry.decision, entry.outcome, entry.case_id) == ("denied", 403, number)
    assert entry.subject_key == SELLER and entry.department == "zj-scjgj"
    # The window department's own pull for its case is served; free-text cases stay free.
    assert lookup(hub, app, ID_CARD, case_id=number).status_code == 200
    assert lookup(hub, app, ID_CARD, case_id="ESF-2026-0001").status_code == 200
