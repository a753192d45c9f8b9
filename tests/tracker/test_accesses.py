"""The tracker shows a citizen every access to their records, and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.demo.seed import SeedResult
from exchange.tracker import repository
from exchange.tracker.models import TrackerRead
from exchange.tracker.rules import reader_key, subject_hmac
from tests.tracker.entries import ID_CARD, MARRIAGE, START, Logged, log_accesses
from tests.tracker.idp import ALICE, BOB, CAROL, Provider

ACCESSES = "/v1/tracker/accesses"


@pytest.fixture
def logged(app: FastAPI, demo_province: SeedResult) -> Logged:
    return log_accesses(app)


def _list(client: TestClient, idp: Provider, who: str, **params: Any) -> dict[str, Any]:
    response = client.get(ACCESSES, params=params, headers=idp.bearer(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_each_citizen_sees_exactly_their_own_accesses(
    client: TestClient, idp: Provider, logged: Logged
) -> None:
    for who, seqs in ((ALICE, logged.alice), (BOB, logged.bob), (CAROL, logged.carol)):
        page = _list(client, idp, who)
        assert page["total"] == len(seqs)
        assert [e["seq"] for e in page["items"]] == sorted(seqs, reverse=True)  # newest first


def test_an_access_says_who_when_what_and_why(
    client: TestClient, idp: Provider, logged: Logged
) -> None:
    items = {e["seq"]: e for e in _list(client, idp, ALICE)["items"]}
    first = items[logged.alice[0]]
    assert first["at"].startswith("2026-11-02T01:30:00")
    assert (first["department"], first["department_name"]) == ("zj-zrzyt", "浙江省自然资源厅")
    assert first["system"] == "zj-zrzyt-window"
    assert first["system_name"] == "浙江省不动产登记一窗受理系统"
    assert (first["provider"], first["provider_name"]) == ("zj-gat", "浙江省公安厅")
    assert (first["resource_code"], first["resource_name"]) == (ID_CARD, "居民身份证信息")
    assert first["items_returned"] == [
        {"code": "id_number", "name": "公民身份号码"},
        {"code": "name", "name": "姓名"},
        {"code": "address", "name": "住址"},
    ]
    assert first["purpose"] == "330000-ZR-001"
    assert first["purpose_name"] == "国有建设用地使用权及房屋所有权转移登记"
    assert first["case_id"] == "ESF-2026-0000" and first["decision"] == "allowed"
    assert len(first["entry_hash"]) == 64
    denied = items[logged.alice[1]]
    assert denied["decision"] == "denied" and denied["items_returned"] == []
    assert denied["reason"] == "photo 不在授权范围" and denied["case_id"] is None
    assert denied["system_name"] == "浙江省民政厅婚姻登记与社会救助系统"
    partial = items[logged.alice[2]]
    assert partial["resource_code"] == MARRIAGE and partial["provider_name"] == "浙江省民政厅"
    assert partial["purpose_name"] == "二手房交易过户一件事"  # a one-thing as the purpose
    assert [i["name"] for i in partial["items_returned"]] == ["公民身份号码", "婚姻状况"]


def test_pages_and_time_filters(client: TestClient, idp: Provider, logged: Logged) -> None:
    first = _list(client, idp, ALICE, size=3)
    second = _list(client, idp, ALICE, size=3, page=2)
    assert first["total"] == 4 and len(first["items"]) == 3
    assert [e["seq"] for e in second["items"]] == [logged.alice[0]]
    morning = _list(client, idp, ALICE, **{"from": START.isoformat(), "to": "2026-11-02T02:00:00Z"})
    assert [e["seq"] for e in morning["items"]] == list(reversed(logged.alice[:3]))
    later = _list(client, idp, ALICE, **{"from": "2026-11-02T02:00:00Z"})
    assert [e["seq"] for e in later["items"]] == [logged.alice[3]]
    empty = client.get(
        ACCESSES,
        params={"from": "2026-11-03T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        headers=idp.bearer(ALICE),
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "to"


def test_one_access_is_shown_only_to_its_subject(
    client: TestClient, idp: Provider, logged: Logged
) -> None:
    mine = client.get(f"{ACCESSES}/{logged.alice[0]}", headers=idp.bearer(ALICE))
    assert mine.status_code == 200 and mine.json()["seq"] == logged.alice[0]
    bobs = client.get(f"{ACCESSES}/{logged.bob[0]}", headers=idp.bearer(ALICE))
    missing = client.get(f"{ACCESSES}/99999", headers=idp.bearer(ALICE))
    assert bobs.status_code == missing.status_code == 404
    # Someone else's entry and no entry look the same: nothing to learn by probing.
    assert bobs.json()["detail"] == f"no access entry {logged.bob[0]} about you"
    assert missing.json()["detail"] == "no access entry 99999 about you"


def test_reading_the_tracker_adds_nothing_to_the_access_log(
    client: TestClient, app: FastAPI, db: Session, idp: Provider, logged: Logged
) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    _list(client, idp, ALICE)
    client.get(f"{ACCESSES}/{logged.alice[0]}", headers=idp.bearer(ALICE))
    client.get(f"{ACCESSES}/{logged.bob[0]}", headers=idp.bearer(ALICE))  # a probe: 404
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before
    # The reads are kept in the tracker's own record, under a pseudonym, misses included.
    key = reader_key(app.state.settings.secret_key.get_secret_value())
    reads = repository.reads_of(db, subject_hmac(key, ALICE))
    assert [(r.view, r.target, r.returned, r.found) for r in reads] == [
        ("accesses", None, 4, True),
        ("access", logged.alice[0], 1, True),
        ("access", logged.bob[0], 0, False),
    ]
    assert all(r.issuer == "https://puser.zjzwfw.gov.cn" and r.token_id for r in reads)
    rows = db.scalars(select(TrackerRead)).all()
    assert all(ALICE not in (r.subject_hmac, r.token_id) for r in rows)
