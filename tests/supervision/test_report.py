"""The supervision report (督察评估) over the crafted history of tests/supervision/dataset.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from exchange.cli import app as cli
from exchange.core.settings import get_settings
from exchange.demo.seed import SeedResult
from tests.supervision.cases import headers
from tests.supervision.dataset import History, seed_history


@pytest.fixture
def history(db: Session, demo_province: SeedResult) -> History:
    """The demo province with the crafted history written."""
    return seed_history(db)


def report(
    client: TestClient, app: FastAPI, what: str, history: History, who: str = "auditor", **q: Any
) -> Any:
    """GET a report over the history's range and return its JSON (asserting 200)."""
    params = {"from": history.since.isoformat(), "to": history.until.isoformat(), **q}
    response = client.get(f"/v1/supervision/{what}", params=params, headers=headers(app, who))
    assert response.status_code == 200, response.text
    return response.json()


def by_code(body: Any) -> dict[str, Any]:
    """Index a report's lines by code."""
    return {item["code"]: item for item in body["items"]}


def test_per_one_thing_figures(client: TestClient, app: FastAPI, history: History) -> None:
    body = report(client, app, "one-things", history)
    assert (body["from"], body["to"], body["as_of"]) == (
        history.since.isoformat(),
        history.until.isoformat(),
        history.until.isoformat(),
    )
    lines = by_code(body)
    assert sorted(lines) == ["company-start", "esf-transfer", "newborn"]
    esf = lines["esf-transfer"]
    assert (esf["applications"], esf["completed"], esf["completed_within_one_visit"]) == (5, 3, 2)
    assert esf["one_visit_rate"] == 0.6667
    assert esf["materials"] == {
        "fetched": 53,
        "submitted": 20,
        "must_submit": 1,
        "accepted_pending": 0,
        "refused": 0,
        "unavailable": 1,
        "pulled_share": 0.7162,  # 53 / (53 + 20 + 1)
    }
    assert esf["handling"] == {"completed": 3, "p50_seconds": 14_400.0, "p95_seconds": 36_000.0}
    assert (esf["overdue_grant_requests"], esf["overdue_objections"]) == (1, 1)
    assert (esf["connectors"]["checks"], esf["connectors"]["ok"]) == (6, 4)
    assert esf["connectors"]["availability"] == 0.6667
    assert {b["resource"]: b["availability"] for b in esf["connectors"]["bindings"]} == {
        "301001002/000002": 0.5,
        "304001001/000001": 0.75,
    }
    newborn = lines["newborn"]
    assert (newborn["applications"], newborn["completed"], newborn["one_visit_rate"]) == (1, 1, 1.0)
    assert newborn["materials"]["pulled_share"] == 0.7
    assert newborn["handling"]["p95_seconds"] == 3_600.0
    assert newborn["connectors"]["availability"] == 0.75
    company = lines["company-start"]
    assert (company["applications"], company["one_visit_rate"]) == (0, None)
    assert company["materials"]["pulled_share"] is None
    assert company["handling"] == {"completed": 0, "p50_seconds": None, "p95_seconds": None}
    assert (company["overdue_grant_requests"], company["overdue_objections"]) == (1, 0)
    assert company["connectors"]["availability"] == 0.5


def test_per_department_figures(client: TestClient, app: FastAPI, history: History) -> None:
    lines = by_code(report(client, app, "departments", history))
    tax = lines["zj-tax"]
    assert (tax["applications"], tax["completed"], tax["one_visit_rate"]) == (5, 3, 0.6667)
    assert tax["parts"] == {"approved": 3, "rejected": 1, "pending": 1}
    assert tax["handling"]["p50_seconds"] == 14_400.0
    assert (tax["overdue_grant_requests"], tax["overdue_objections"]) == (1, 1)
    assert tax["connectors"]["availability"] == 0.75
    gat = lines["zj-gat"]
    assert (gat["applications"], gat["completed"], gat["parts"]["approved"]) == (1, 1, 1)
    assert (gat["overdue_objections"], gat["connectors"]["availability"]) == (1, 0.5)
    assert lines["zj-wjw"]["parts"]["approved"] == 2
    assert lines["zj-wjw"]["connectors"]["availability"] == 1.0
    assert lines["zj-scjgj"]["overdue_grant_requests"] == 1
    window = lines["zj-zrzyt"]
    assert (window["applications"], window["materials"]["pulled_share"]) == (5, 0.7162)
    assert lines["zj-dsj"]["applications"] == 0


def test_an_earlier_range_leaves_out_what_came_later(
    client: TestClient, app: FastAPI, history: History
) -> None:
    earlier = History(
        since=history.since - timedelta(days=60),
        until=history.until - timedelta(days=5),
        first_number=history.first_number,
    )
    esf = by_code(report(client, app, "one-things", earlier))["esf-transfer"]
    # Only the application of 45 days ago: 30 h, three visits.
    assert (esf["applications"], esf["completed"], esf["one_visit_rate"]) == (1, 1, 0.0)
    assert esf["handling"]["p50_seconds"] == 108_000.0
    # Judged five days ago, the grant request due three days ago was not yet late.
    assert esf["overdue_grant_requests"] == 0
    assert esf["connectors"]["checks"] == 1


def test_a_department_admin_sees_its_own_department_only(
    client: TestClient, app: FastAPI, history: History
) -> None:
    departments = report(client, app, "departments", history, who="tax-admin")
    assert [d["code"] for d in departments["items"]] == ["zj-tax"]
    things = report(client, app, "one-things", history, who="tax-admin")
    assert [t["code"] for t in things["items"]] == ["company-start", "esf-transfer"]
    other = client.get(
        "/v1/supervision/departments?department=zj-gat", headers=headers(app, "tax-admin")
    )
    assert other.status_code == 403
    system = client.get("/v1/supervision/one-things", headers=headers(app, "zj-tax-backoffice"))
    assert system.status_code == 403
    one = report(client, app, "departments", history, who="province-admin", department="zj-gat")
    assert [d["code"] for d in one["items"]] == ["zj-gat"]


def test_bad_ranges_and_departments_are_named(
    client: TestClient, app: FastAPI, history: History
) -> None:
    auditor = headers(app, "auditor")
    backwards = client.get(
        "/v1/supervision/one-things?from=2026-12-01&to=2026-11-01", headers=auditor
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "from"
    garbage = client.get("/v1/supervision/departments?to=yesterday", headers=auditor)
    assert garbage.status_code == 422
    assert garbage.json()["errors"][0]["field"] == "to"
    unknown = client.get("/v1/supervision/departments?department=zj-nowhere", headers=auditor)
    assert unknown.status_code == 422
    assert "zj-nowhere" in unknown.json()["detail"]
    default = client.get("/v1/supervision/one-things", headers=auditor)
    assert default.status_code == 200  # the last 30 days
    assert by_code(default.json())["esf-transfer"]["applications"] == 5


@pytest.fixture
def cli_env(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test hub's database."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", app.state.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_datarun_supervision_report(history: History, cli_env: None) -> None:
    runner = CliRunner()
    span = ["--from", history.since.isoformat(), "--to", history.until.isoformat()]
    table = runner.invoke(cli, ["supervision", "report", *span])
    assert table.exit_code == 0, table.output
    esf = next(line for line in table.output.splitlines() if line.startswith("esf-transfer"))
    assert esf.split() == [
        "esf-transfer",
        "5",
        "3",
        "66.7%",
        "71.6%",
        "4.0",
        "10.0",
        "1",
        "1",
        "66.7%",
    ]
    assert "per department" in table.output
    as_json = runner.invoke(cli, ["supervision", "report", *span, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["from"] == history.since.isoformat()
    assert {t["code"]: t["one_visit_rate"] for t in body["one_things"]}["esf-transfer"] == 0.6667
    assert {d["code"]: d["parts"] for d in body["departments"]}["zj-tax"]["rejected"] == 1
    backwards = runner.invoke(
        cli, ["supervision", "report", "--from", "2026-12-01", "--to", "2026-11-01"]
    )
    assert backwards.exit_code == 2
    assert "after" in backwards.output
