"""The sweep records expiries, lapses and escalations; decisions never wait for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from exchange.cli import app as cli
from exchange.core.settings import get_settings
from exchange.demo.seed import SeedResult
from exchange.grants.models import CasbinRule
from exchange.grants.sweep import sweep
from exchange.grants.workdays import working_days_between
from exchange.supply.checks import HubSupplyChecks
from tests.grants.support import (
    ID_CARD,
    SEAL,
    TRANSFER_ITEM,
    actions,
    approved,
    file_request,
    headers,
    policy_version,
    set_dates,
    today,
)

ITEMS = ["id_number", "name"]


def _show(client: TestClient, app: FastAPI, grant_id: int) -> Any:
    response = client.get(f"/v1/grants/{grant_id}", headers=headers(app, "province-admin"))
    assert response.status_code == 200
    return response.json()


def test_sweep_expires_ended_grants(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    ended = approved(client, app)["id"]
    current = file_request(client, app, resource=SEAL, items=["uscc"])["id"]
    set_dates(
        db, ended, starts_on=today() - timedelta(days=60), ends_on=today() - timedelta(days=1)
    )
    # Access already stopped at the end date, before any sweep.
    assert not HubSupplyChecks(db).has_grant("zj-zrzyt", ID_CARD, ITEMS, TRANSFER_ITEM)
    before = policy_version(db)
    result = sweep(db, today=today())
    db.commit()
    assert result.expired == [ended] and result.lapsed == [] and result.escalated == []
    assert policy_version(db) > before
    shown = _show(client, app, ended)
    assert shown["status"] == "expired" and shown["ended_at"] is not None
    assert actions(shown)[-1] == "expired"
    assert shown["events"][-1]["actor"] == "sweep"
    assert _show(client, app, current)["status"] == "approved"
    # A second sweep finds nothing more to do.
    again = sweep(db, today=today())
    assert (again.expired, again.lapsed, again.escalated) == ([], [], [])


def test_sweep_lapses_grants_not_recertified_within_a_year(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    stale = approved(client, app)["id"]
    fresh = approved(client, app, purposes=["esf-transfer"])["id"]
    set_dates(db, stale, certified_on=today() - timedelta(days=400))
    set_dates(db, fresh, certified_on=today() - timedelta(days=300))
    assert HubSupplyChecks(db).has_grant("zj-zrzyt", ID_CARD, ITEMS, "esf-transfer")
    assert not HubSupplyChecks(db).has_grant("zj-zrzyt", ID_CARD, ITEMS, TRANSFER_ITEM)
    result = sweep(db, today=today())
    db.commit()
    assert result.lapsed == [stale]
    shown = _show(client, app, stale)
    assert shown["status"] == "lapsed"
    assert "not re-certified" in shown["events"][-1]["reason"]
    # A lapsed grant cannot be re-certified: the consumer requests anew.
    response = client.post(f"/v1/grants/{stale}/recertify", headers=headers(app, "gat-admin"))
    assert response.status_code == 409
    # The sweep as of a later day lapses the other one too.
    later = sweep(db, today=today() + timedelta(days=70))
    assert later.lapsed == [fresh]


def test_sweep_escalates_overdue_requests_once(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    late = file_request(client, app)["id"]
    waiting = file_request(client, app, purposes=["esf-transfer"])["id"]
    due = today() - timedelta(days=7)
    set_dates(db, late, due_on=due)
    before = policy_version(db)
    result = sweep(db, today=today())
    db.commit()
    assert result.escalated == [late]
    assert policy_version(db) == before  # escalation changes no decision
    shown = _show(client, app, late)
    assert shown["escalated_at"] is not None and shown["status"] == "pending"
    event = shown["events"][-1]
    assert event["action"] == "escalated"
    assert event["detail"]["working_days_overdue"] == working_days_between(due, today())
    assert "province admin" in event["reason"]
    assert _show(client, app, waiting)["escalated_at"] is None
    assert sweep(db, today=today()).escalated == []
    # The provider may still decide an escalated request.
    response = client.post(f"/v1/grants/{late}/approve", json={}, headers=headers(app, "gat-admin"))
    assert response.status_code == 200


@pytest.fixture
def cli_env(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test hub's database."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", app.state.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_datarun_grants_sweep(
    client: TestClient,
    app: FastAPI,
    db: Session,
    demo_province: SeedResult,
    cli_env: None,
) -> None:
    ended = approved(client, app)["id"]
    set_dates(
        db, ended, starts_on=today() - timedelta(days=60), ends_on=today() - timedelta(days=1)
    )
    late = file_request(client, app, purposes=["esf-transfer"])["id"]
    set_dates(db, late, due_on=today() - timedelta(days=5))
    runner = CliRunner()
    result = runner.invoke(cli, ["grants", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 expired, 0 lapsed, 1 escalated" in result.output
    assert f"expired: {ended}" in result.output
    future = (today() + timedelta(days=800)).isoformat()
    result = runner.invoke(cli, ["grants", "sweep", "--today", future])
    assert result.exit_code == 0, result.output
    assert "0 expired" in result.output
    bad = runner.invoke(cli, ["grants", "sweep", "--today", "tomorrow"])
    assert bad.exit_code != 0


def test_datarun_grants_resync_repairs_the_stored_rules(
    client: TestClient,
    app: FastAPI,
    db: Session,
    demo_province: SeedResult,
    cli_env: None,
) -> None:
    approved(client, app)
    stored = db.scalar(select(func.count()).select_from(CasbinRule))
    assert stored, "an approved grant writes casbin rules"
    db.execute(delete(CasbinRule))  # a careless bulk SQL change, or a partial restore
    db.commit()
    result = CliRunner().invoke(cli, ["grants", "resync"])
    assert result.exit_code == 0, result.output
    assert "policy version" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CasbinRule)) == stored
