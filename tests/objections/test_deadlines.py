"""The provider's clock: N working days on the 2026 holiday calendar, overdue, escalation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from exchange.cli import app as cli
from exchange.core.errors import Conflict
from exchange.core.settings import Settings, get_settings
from exchange.demo.seed import SeedResult
from exchange.identity.principal import Principal
from exchange.objections import decisions, service
from exchange.objections.schemas import AnswerCreate
from exchange.objections.sweep import sweep
from tests.objections.support import actions, headers
from tests.tracker.entries import ID_CARD, MARRIAGE
from tests.tracker.idp import ALICE, BOB

GAT_ADMIN = Principal(
    subject="user:gat-admin",
    kind="user",
    department="zj-gat",
    roles=frozenset({"catalog_admin"}),
    token_id="t",
)


def _open(db: Session, settings: Settings, raised_on: date, **kw: object) -> int:
    values: dict[str, object] = {
        "resource_code": ID_CARD,
        "subject_key": ALICE,
        "items": ["name"],
        "description": "两个来源的姓名不一致",
        "raised_by": "hub:conflicts",
        "settings": settings,
        "today": raised_on,
    }
    values.update(kw)
    objection = service.open_objection(db, **values)  # type: ignore[arg-type]
    db.commit()
    return objection.id


@pytest.mark.parametrize(
    ("raised_on", "working_days", "due"),
    [
        (date(2026, 9, 28), 5, date(2026, 10, 10)),  # 29, 30 Sep; 8, 9, 10 (Sat, 调休) Oct
        (date(2026, 9, 30), 5, date(2026, 10, 13)),  # 国庆 1–7 Oct off; 11 Oct a Sunday
        (date(2026, 9, 28), 10, date(2026, 10, 16)),  # the grants' 10-day clock, same dates
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # 14 Feb (Sat, 调休); 春节 15–23 Feb
        (date(2026, 11, 27), 5, date(2026, 12, 4)),  # an ordinary Friday
    ],
)
def test_due_dates_count_working_days(
    db: Session,
    settings: Settings,
    demo_province: SeedResult,
    raised_on: date,
    working_days: int,
    due: date,
) -> None:
    options = settings.model_copy(update={"objection_due_working_days": working_days})
    oid = _open(db, options, raised_on)
    assert service.load(db, oid).due_on == due


def test_overdue_objections_are_escalated_once_and_listed(
    client: TestClient, app: FastAPI, db: Session, settings: Settings, demo_province: SeedResult
) -> None:
    late = _open(db, settings, date(2026, 9, 28))  # due Saturday 10 October (调休)
    other = _open(db, settings, date(2026, 9, 30), subject_key=BOB)  # due 13 October
    assert sweep(db, today=date(2026, 10, 10)) == []  # the due day itself is not late
    assert sweep(db, today=date(2026, 10, 12)) == [late]
    assert sweep(db, today=date(2026, 10, 12)) == []  # once only
    assert sweep(db, today=date(2026, 10, 14)) == [other]
    db.commit()

    shown = client.get(f"/v1/objections/{late}", headers=headers(app, "province-admin")).json()
    assert shown["overdue"] is True and shown["escalated_at"] is not None
    assert actions(shown) == ["raised", "escalated"]
    escalation = shown["events"][1]
    assert escalation["actor"] == "sweep"
    assert escalation["detail"] == {
        "due_on": "2026-10-10",
        "working_days_overdue": 1,  # Monday 12 October
        "provider": "zj-gat",
    }
    listed = client.get(
        "/v1/objections",
        params={"overdue": "true", "escalated": "true"},
        headers=headers(app, "province-admin"),
    ).json()
    assert sorted(o["id"] for o in listed["items"]) == sorted([late, other])
    # An answer, however late, ends the clock; the history says it was late.
    answered = decisions.answer(
        db, objection_id=late, data=AnswerCreate(answer="corrected"), actor=GAT_ADMIN,
        authz=app.state.authorizer, today=date(2026, 10, 15),
    )  # fmt: skip
    db.commit()
    assert answered.status == "answered"
    events = client.get(f"/v1/objections/{late}", headers=headers(app, "gat-admin")).json()
    assert events["overdue"] is False
    assert events["events"][-1]["detail"]["working_days_late"] == 4  # 12–15 October
    still = client.get(
        "/v1/objections", params={"overdue": "true"}, headers=headers(app, "gat-admin")
    ).json()
    assert [o["id"] for o in still["items"]] == [other]


def test_open_objection_for_conflict_detection(
    db: Session, settings: Settings, demo_province: SeedResult
) -> None:
    first = _open(
        db, settings, date(2026, 11, 27), case_id="ESF-2026-0042", raiser_department="zj-zrzyt"
    )
    objection = service.load(db, first)
    assert objection.source == "conflict" and objection.raised_by == "hub:conflicts"
    assert objection.raiser_department is not None
    assert objection.raiser_department.code == "zj-zrzyt"
    assert objection.provider.code == "zj-gat" and objection.case_id == "ESF-2026-0042"
    # The same conflict found again: a 409 naming the open one, or (reuse_open) that one.
    with pytest.raises(Conflict) as raised:
        _open(db, settings, date(2026, 11, 27))
    assert raised.value.extra["objection_id"] == first
    db.rollback()
    assert _open(db, settings, date(2026, 11, 28), reuse_open=True) == first
    # Another record, or another resource, is another objection.
    assert _open(db, settings, date(2026, 11, 27), resource_code=MARRIAGE) != first


@pytest.fixture
def cli_env(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI at the test hub's database."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", app.state.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_datarun_objections_sweep(
    db: Session, settings: Settings, demo_province: SeedResult, cli_env: None
) -> None:
    late = _open(db, settings, date(2026, 9, 28))
    runner = CliRunner()
    early = runner.invoke(cli, ["objections", "sweep", "--today", "2026-10-09"])
    assert early.exit_code == 0, early.output
    assert "swept as of 2026-10-09: 0 escalated" in early.output
    result = runner.invoke(cli, ["objections", "sweep", "--today", "2026-10-12"])
    assert result.exit_code == 0, result.output
    assert "1 escalated" in result.output and f"escalated: {late}" in result.output
    assert runner.invoke(cli, ["objections", "sweep", "--today", "soon"]).exit_code != 0
