"""Objections end to end: a citizen and a department raise, the provider answers, they close."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.demo.seed import SeedResult
from exchange.grants.service import china_today
from exchange.objections.rules import due_on
from tests.objections.support import actions, answer, headers, raise_as
from tests.tracker.entries import ID_CARD, Logged, log_accesses
from tests.tracker.idp import ALICE, BOB, Provider

MINE = "/v1/tracker/objections"


@pytest.fixture
def logged(app: FastAPI, demo_province: SeedResult) -> Logged:
    return log_accesses(app)


def _citizen_raise(client: TestClient, idp: Provider, seq: int, who: str = ALICE) -> Any:
    body = {
        "seq": seq,
        "items": ["address"],
        "description": "住址已变更，仍显示旧地址",
        "proposed_correction": {"address": "杭州市西湖区文三路 90 号"},
    }
    return client.post(MINE, json=body, headers=idp.bearer(who))


def test_a_citizen_objects_from_an_access_and_sees_the_answer(
    client: TestClient, app: FastAPI, idp: Provider, logged: Logged
) -> None:
    raised = _citizen_raise(client, idp, logged.alice[0])
    assert raised.status_code == 201, raised.text
    mine = raised.json()
    assert mine["status"] == "open" and mine["provider"] == "zj-gat"
    assert mine["provider_name"] == "浙江省公安厅" and mine["resource_code"] == ID_CARD
    assert mine["items"] == [{"code": "address", "name": "住址"}]
    assert mine["audit_seq"] == logged.alice[0] and mine["case_id"] == "ESF-2026-0000"
    assert mine["due_on"] == due_on(china_today(), 5).isoformat()
    assert mine["overdue"] is False and mine["answer"] is None
    assert "raised_by" not in mine and "subject_key" not in mine

    listed = client.get(MINE, headers=idp.bearer(ALICE)).json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    assert client.get(MINE, headers=idp.bearer(BOB)).json()["total"] == 0
    assert client.get(f"{MINE}/{mine['id']}", headers=idp.bearer(BOB)).status_code == 404

    # The provider sees it, with the record's key and the citizen's masked ID.
    provided = client.get(
        "/v1/objections", params={"role": "provider"}, headers=headers(app, "gat-admin")
    ).json()
    assert provided["total"] == 1
    seen = provided["items"][0]
    assert seen["subject_key"] == ALICE and seen["source"] == "tracker"
    assert seen["raised_by"] == f"citizen:{ALICE[:6]}********{ALICE[-4:]}"
    assert seen["raiser_department"] is None

    answered = answer(
        client, app, mine["id"], "gat-admin", answer="corrected", reason="已按户籍迁移记录更正住址"
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["answered_by"] == "user:gat-admin"
    assert actions(answered.json()) == ["raised", "answered"]
    event = answered.json()["events"][1]
    assert event["detail"]["answer"] == "corrected" and event["detail"]["late"] is False

    shown = client.get(f"{MINE}/{mine['id']}", headers=idp.bearer(ALICE)).json()
    assert shown["status"] == "answered" and shown["answer"] == "corrected"
    assert shown["answer_reason"] == "已按户籍迁移记录更正住址"

    closed = client.post(f"{MINE}/{mine['id']}/close", json={}, headers=idp.bearer(ALICE))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    detail = client.get(f"/v1/objections/{mine['id']}", headers=headers(app, "gat-admin")).json()
    assert actions(detail) == ["raised", "answered", "closed"]
    assert detail["closed_by"] == seen["raised_by"]


def test_a_department_objects_and_the_provider_answers(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    raised = raise_as(client, app)
    assert raised["source"] == "department" and raised["raised_by"] == "zj-zrzyt-window"
    assert raised["raiser_department"] == "zj-zrzyt" and raised["provider"] == "zj-gat"
    assert raised["key_item"] == "id_number" and raised["proposed_correction"] == {"name": "张晓明"}
    oid = raised["id"]

    def ids(who: str, **params: Any) -> list[int]:
        response = client.get("/v1/objections", params=params, headers=headers(app, who))
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["items"]]

    assert ids("zrzyt-admin", role="raiser") == [oid]
    assert ids("zrzyt-admin", role="provider") == []
    assert ids("gat-admin", role="provider") == [oid] == ids("gat-admin")
    assert ids("mzt-admin") == []
    assert ids("province-admin", status="open") == [oid] == ids("auditor", role="raiser")
    assert ids("province-admin", department="zj-mzt") == []
    assert ids("gat-admin", status="answered") == []
    other = client.get(f"/v1/objections/{oid}", headers=headers(app, "mzt-admin"))
    assert other.status_code == 403
    wrong = client.get(
        "/v1/objections", params={"department": "zj-mzt"}, headers=headers(app, "gat-admin")
    )
    assert wrong.status_code == 403

    # Only the provider's catalog_admin (or a province admin) answers.
    for who in ("mzt-admin", "zrzyt-admin", "zj-gat-backoffice", "auditor"):
        refused = answer(client, app, oid, who, answer="confirmed_correct")
        assert refused.status_code == 403, who
    done = answer(client, app, oid, "gat-admin", answer="confirmed_correct", reason="与户籍一致")
    assert done.status_code == 200 and done.json()["status"] == "answered"
    again = answer(client, app, oid, "province-admin", answer="rejected", reason="重复")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"objection {oid} is answered (confirmed_correct by user:gat-admin), not open"
    )

    # The raiser closes it; nobody answers a closed one, nor closes it twice.
    close = f"/v1/objections/{oid}/close"
    assert client.post(close, headers=headers(app, "gat-admin")).status_code == 403
    closed = client.post(close, json={"reason": "接受答复"}, headers=headers(app, "zrzyt-admin"))
    assert closed.status_code == 200 and closed.json()["closed_by"] == "user:zrzyt-admin"
    # Refused attempts stay in the history too: who tried what, and why they could not.
    history = closed.json()["events"]
    assert actions(closed.json()) == ["raised"] + ["denied_attempt"] * 4 + ["answered", "closed"]
    assert [e["actor"] for e in history[1:5]] == [
        "user:mzt-admin",
        "user:zrzyt-admin",
        "zj-gat-backoffice",
        "user:auditor",
    ]
    assert history[1]["detail"] == {"attempted": "answer"}
    assert answer(client, app, oid, "gat-admin", answer="corrected").status_code == 409
    twice = client.post(f"/v1/objections/{oid}/close", headers=headers(app, "zrzyt-admin"))
    assert twice.status_code == 409


def test_an_open_objection_can_be_withdrawn_and_answering_it_then_is_409(
    client: TestClient, app: FastAPI, idp: Provider, logged: Logged
) -> None:
    oid = _citizen_raise(client, idp, logged.alice[0]).json()["id"]
    withdrawn = client.post(
        f"{MINE}/{oid}/close", json={"reason": "误报"}, headers=idp.bearer(ALICE)
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "closed"
    late = answer(client, app, oid, "gat-admin", answer="corrected")
    assert late.status_code == 409 and "closed" in late.json()["detail"]
    shown = client.get(f"/v1/objections/{oid}", headers=headers(app, "gat-admin")).json()
    assert actions(shown) == ["raised", "withdrawn"]
    assert client.post(f"{MINE}/{oid}/close", headers=idp.bearer(BOB)).status_code == 404


def test_the_same_open_objection_twice_is_409(
    client: TestClient, app: FastAPI, idp: Provider, logged: Logged
) -> None:
    first = _citizen_raise(client, idp, logged.alice[0]).json()["id"]
    again = _citizen_raise(client, idp, logged.alice[3])
    assert again.status_code == 409 and again.json()["objection_id"] == first
    raise_as(client, app)
    repeat = client.post(
        "/v1/objections",
        json={"resource_code": ID_CARD, "key": ALICE, "items": ["name"], "description": "同上"},
        headers=headers(app, "zj-zrzyt-window"),
    )
    assert repeat.status_code == 409
