"""The data-demand list and the planner, end to end on the demo province."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.demo.seed import SeedResult
from exchange.supply.checks import HubSupplyChecks
from tests.grants.support import ESF, ID_CARD, PROVIDER_ADMIN, grant_count, headers

DEMAND = f"/v1/one-things/{ESF}/demand?consumer=zj-zrzyt"
FILE = f"/v1/one-things/{ESF}/demand/file?consumer=zj-zrzyt"


def _demand(
    client: TestClient, app: FastAPI, url: str = DEMAND, who: str = "zrzyt-admin"
) -> dict[str, Any]:
    response = client.get(url, headers=headers(app, who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _by_material(demand: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["material"]: e for e in demand["entries"]}


def test_demand_list_of_a_one_thing(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    demand = _demand(client, app)
    assert demand["one_thing"] == ESF and demand["consumer"] == "zj-zrzyt"
    assert demand["summary"] == {"missing": 9, "unavailable": 1, "not_shareable": 1}
    entries = _by_material(demand)
    seller = entries["seller_id"]
    assert seller["resource"] == ID_CARD and seller["provider"] == "zj-gat"
    assert seller["purpose"] == "330000-ZR-001" and seller["grant_id"] is None
    assert entries["assessed_price"]["purpose"] == "330000-SW-001"
    assert entries["purchase_eligibility"]["status"] == "unavailable"
    assert "not in the catalogue" in entries["purchase_eligibility"]["detail"]
    assert entries["buyer_tax_record"]["status"] == "not_shareable"
    assert "税收征收管理法" in entries["buyer_tax_record"]["detail"]
    assert "registration_application" not in entries  # submitted materials need no grant


def test_dry_run_says_what_would_be_filed_and_files_nothing(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    response = client.post(f"{FILE}&dry_run=true", headers=headers(app, "zrzyt-admin"))
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["dry_run"] is True
    # Seller's and buyer's ID share one resource and purpose: one request for both.
    assert len(plan["requests"]) == 8
    id_card = next(r for r in plan["requests"] if r["resource"] == ID_CARD)
    assert id_card["items"] == ["id_number", "name", "address", "valid_until"]
    assert id_card["materials"] == ["卖方身份证明", "买方身份证明"]
    assert (
        id_card["need"] == "为办理「二手房交易过户」一件事申请（材料：卖方身份证明、买方身份证明）"
    )
    assert id_card["expected"] == "pending" and id_card["grant"] is None
    assert {r["material"] for r in plan["skipped"]} == {"purchase_eligibility", "buyer_tax_record"}
    assert grant_count(db) == 0


def test_planner_files_approvals_cover_and_the_grant_check_agrees(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    response = client.post(FILE, headers=headers(app, "zrzyt-admin"))
    assert response.status_code == 200, response.text
    filed = response.json()
    assert filed["dry_run"] is False
    grants = [r["grant"] for r in filed["requests"]]
    assert len(grants) == 8 and all(g["status"] == "pending" for g in grants)
    assert all(g["consumer"] == "zj-zrzyt" and g["due_on"] for g in grants)
    assert grant_count(db) == 8
    # The demand list now shows the pending requests, and filing again files nothing.
    pending = _demand(client, app)
    assert pending["summary"] == {"pending": 9, "unavailable": 1, "not_shareable": 1}
    again = client.post(FILE, headers=headers(app, "zrzyt-admin")).json()
    assert again["requests"] == []

    report_url = f"/v1/one-things/{ESF}/elimination-report?consumer=zj-zrzyt"
    checks = HubSupplyChecks(db)
    entries = _by_material(pending)
    covered_materials = [m for m, e in entries.items() if e["status"] == "pending"]
    for m in covered_materials:
        e = entries[m]
        assert not checks.has_grant("zj-zrzyt", e["resource"], e["items"], e["purpose"])

    # Each provider's administrator approves its requests.
    for grant in grants:
        admin = PROVIDER_ADMIN[grant["provider"]]
        response = client.post(
            f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, admin)
        )
        assert response.status_code == 200, (admin, response.text)

    covered = _demand(client, app)
    assert covered["summary"] == {"covered": 9, "unavailable": 1, "not_shareable": 1}
    for m in covered_materials:
        e = _by_material(covered)[m]
        assert e["grant_id"] in {g["id"] for g in grants}
        assert checks.has_grant("zj-zrzyt", e["resource"], e["items"], e["purpose"])
    # Held by zj-zrzyt, not by another department, and only for the purpose granted.
    seller = _by_material(covered)["seller_id"]
    assert not checks.has_grant("zj-wjw", ID_CARD, seller["items"], seller["purpose"])
    assert not checks.has_grant("zj-zrzyt", ID_CARD, seller["items"], "330000-SW-001")
    assert not checks.has_grant("zj-zrzyt", ID_CARD, ["photo"], seller["purpose"])

    # The elimination report no longer says no_grant for them: each is pulled, or waits
    # only for its connector binding (issue #4).
    report = client.get(report_url, headers=headers(app, "zrzyt-admin")).json()
    outcomes = {e["material"]: (e["outcome"], e["reason"]) for e in report["entries"]}
    assert Counter(e["reason"] for e in report["entries"])["no_grant"] == 0
    for m in covered_materials:
        assert outcomes[m] in {("pulled", None), ("demanded", "no_connector")}, m


def test_elimination_report_pulls_what_is_granted_once_sources_are_bound(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    class BoundEverywhere(HubSupplyChecks):
        # Stands in for the connector bindings of issue #4: only is_bound differs.
        def is_bound(self, resource_code: str) -> bool:
            return True

    app.state.supply_checks = BoundEverywhere
    report_url = f"/v1/one-things/{ESF}/elimination-report?consumer=zj-zrzyt"
    before = client.get(report_url, headers=headers(app, "zrzyt-admin")).json()
    assert before["summary"]["by_reason"]["no_grant"] == 9
    filed = client.post(FILE, headers=headers(app, "zrzyt-admin")).json()
    for planned in filed["requests"]:
        grant = planned["grant"]
        admin = PROVIDER_ADMIN[grant["provider"]]
        client.post(f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, admin))
    after = client.get(report_url, headers=headers(app, "zrzyt-admin")).json()
    assert after["summary"]["pulled"] == 9
    assert "no_grant" not in after["summary"]["by_reason"]


def test_unconditional_requests_come_back_approved(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    url = "/v1/one-things/company-start/demand/file?consumer=zj-scjgj"
    filed = client.post(url, headers=headers(app, "scjgj-admin")).json()
    outcome = {(r["resource"], r["purpose"]): r["grant"]["status"] for r in filed["requests"]}
    assert outcome == {
        ("305001002/000002", "330000-SJ-002"): "approved",
        (ID_CARD, "330000-SJ-002"): "pending",
        ("303001001/000001", "330000-SJ-002"): "pending",
        # 营业执照 belongs to no single service item: the purpose is the one-thing itself.
        ("305001001/000001", "company-start"): "approved",
        ("301002001/000003", "330000-SW-002"): "approved",
    }
    assert all(r["expected"] == r["grant"]["status"] for r in filed["requests"])
    demand = _demand(
        client, app, "/v1/one-things/company-start/demand?consumer=zj-scjgj", "scjgj-admin"
    )
    assert demand["summary"] == {"covered": 3, "pending": 3, "unavailable": 1}


def test_demand_is_the_consumers_own_business(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    zrzyt = headers(app, "zrzyt-admin")
    other = f"/v1/one-things/{ESF}/demand/file?consumer=zj-gat"
    assert client.post(other, headers=zrzyt).status_code == 403
    assert (
        client.get(f"/v1/one-things/{ESF}/demand?consumer=zj-gat", headers=zrzyt).status_code == 403
    )
    assert client.get("/v1/one-things/nothing/demand", headers=zrzyt).status_code == 404
    unknown = client.get(f"/v1/one-things/{ESF}/demand?consumer=zj-none", headers=zrzyt)
    assert unknown.status_code == 422
    assert client.post(FILE, headers=headers(app, "auditor")).status_code == 403
    # The province admin may plan for any department; by default the caller's own.
    assert client.get(DEMAND, headers=headers(app, "province-admin")).status_code == 200
    own = client.get(f"/v1/one-things/{ESF}/demand", headers=zrzyt).json()
    assert own["consumer"] == "zj-zrzyt"


def test_a_system_files_for_itself(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    response = client.post(
        f"/v1/one-things/{ESF}/demand/file", headers=headers(app, "zj-zrzyt-window")
    )
    assert response.status_code == 200, response.text
    grants = [r["grant"] for r in response.json()["requests"]]
    assert grants and {g["consumer_system"] for g in grants} == {"zj-zrzyt-window"}
    assert {g["requested_by"] for g in grants} == {"zj-zrzyt-window"}
