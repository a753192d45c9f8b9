"""The auditors' API: search, one entry, verify, checkpoints, the key and reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.audit.export import export_log
from exchange.core.settings import Settings
from tests.audit.support import allow_tampering, record

Auth = Callable[..., dict[str, str]]
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture
def logged(app: FastAPI) -> None:
    """60 entries, one a minute from START, through the app's own log."""
    app.state.audit.append_many([record(i, at=START + timedelta(minutes=i)) for i in range(60)])


@pytest.fixture
def auditor(auth: Auth) -> dict[str, str]:
    return auth("audit-li", department="zj-sjj", roles=["auditor"])


def test_only_auditors_and_province_admins_read_the_log(
    client: TestClient, auth: Auth, logged: None
) -> None:
    assert client.get("/v1/audit/entries").status_code == 401
    for who, roles, kind in [
        ("gat-admin", ["catalog_admin"], "user"),
        ("zj-gat-window", ["system"], "system"),
    ]:
        headers = auth(who, department="zj-gat", roles=roles, kind=kind)
        for method, path in [
            ("GET", "/v1/audit/entries"),
            ("GET", "/v1/audit/entries/1"),
            ("POST", "/v1/audit/verify"),
            ("GET", "/v1/audit/checkpoints"),
        ]:
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 403, (who, path)
            assert response.headers["content-type"] == "application/problem+json"
    for who, roles in [("audit-li", ["auditor"]), ("province", ["province_admin"])]:
        headers = auth(who, department="zj-sjj", roles=roles)
        assert client.get("/v1/audit/entries", headers=headers).status_code == 200


def test_search_filters_and_pages(
    client: TestClient, auditor: dict[str, str], logged: None
) -> None:
    def search(**params: object) -> dict:
        response = client.get("/v1/audit/entries", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return response.json()

    everything = search(size=7)
    assert everything["total"] == 60 and len(everything["items"]) == 7
    assert everything["items"][0]["seq"] == 60  # newest first
    assert search(page=9, size=7)["items"][-1]["seq"] == 1
    assert search(department="zj-d1")["total"] == 20
    assert search(decision="denied")["total"] == 10
    assert search(subject=record(7).subject_key)["total"] == 2  # keys repeat every 50
    assert search(case_id="CASE-00008")["items"][0]["seq"] == 9
    assert search(resource="301001001/000002", purpose=record(2).purpose)["total"] == 3
    window = search(**{"from": (START + timedelta(minutes=10)).isoformat(),
                       "to": (START + timedelta(minutes=20)).isoformat()})  # fmt: skip
    assert window["total"] == 10 and {e["seq"] for e in window["items"]} == set(range(11, 21))
    entry = client.get("/v1/audit/entries/9", headers=auditor).json()
    assert entry["case_id"] == "CASE-00008" and entry["at"].startswith("2026-11-25T01:08:00")
    assert client.get("/v1/audit/entries/999", headers=auditor).status_code == 404


def test_bad_search_input_is_422_naming_the_field(
    client: TestClient, auditor: dict[str, str]
) -> None:
    bad = client.get("/v1/audit/entries", params={"decision": "maybe"}, headers=auditor)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "decision"
    empty = client.get(
        "/v1/audit/entries",
        params={"from": "2026-11-25T02:00:00Z", "to": "2026-11-25T01:00:00Z"},
        headers=auditor,
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "to"


def test_verify_endpoint(
    client: TestClient, app: FastAPI, auditor: dict[str, str], logged: None
) -> None:
    ok = client.post("/v1/audit/verify", json={}, headers=auditor).json()
    assert ok["ok"] and ok["entries_checked"] == 60 and ok["first_bad_seq"] is None
    with app.state.engine.begin() as conn:
        allow_tampering(conn)
        conn.execute(text("UPDATE audit_entries SET decision = 'allowed' WHERE seq = 42"))
    bad = client.post("/v1/audit/verify", json={"from_seq": 10}, headers=auditor).json()
    assert not bad["ok"] and bad["first_bad_seq"] == 42 and bad["entries_checked"] == 51
    assert bad["problems"][0] == {
        "seq": 42,
        "kind": "entry_hash",
        "detail": "fields do not match entry_hash",
    }


def test_checkpoints_and_the_public_key(
    client: TestClient, app: FastAPI, auditor: dict[str, str], logged: None
) -> None:
    app.state.audit.checkpoint(force=True)
    key = client.get("/v1/audit/checkpoint-key")  # public, like a JWKS
    assert key.status_code == 200
    (jwk,) = key.json()["keys"]
    assert jwk["crv"] == "Ed25519" and "d" not in jwk
    docs = client.get("/v1/audit/checkpoints", headers=auditor).json()
    assert [d["statement"]["size"] for d in docs] == [60]
    assert docs[0]["statement"]["key_id"] == jwk["kid"]
    assert client.get("/v1/audit/checkpoints?after=60", headers=auditor).json() == []


def test_reports_endpoint(
    client: TestClient, app: FastAPI, settings: Settings, auditor: dict[str, str], logged: None
) -> None:
    missing = client.post("/v1/audit/reports", json={"name": "no-case"}, headers=auditor)
    assert missing.status_code == 404
    export_log(
        app.state.engine,
        secret=settings.secret_key.get_secret_value(),
        out_dir=settings.data_dir / "exports",
    )
    body = {"name": "subject", "subject": record(7).subject_key}
    report = client.post("/v1/audit/reports", json=body, headers=auditor).json()
    assert [row[0] for row in report["rows"]] == [8, 58]
    assert report["columns"][:2] == ["seq", "at"]
    unknown = client.post("/v1/audit/reports", json={"name": "everything"}, headers=auditor)
    assert unknown.status_code == 422
