"""Helpers for the objection tests on the demo province (浙江省)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.identity.tokens import issue_access_token
from tests.tracker.entries import ID_CARD
from tests.tracker.idp import ALICE

# Demo people and systems (exchange/demo/province.json): name → (department, roles).
PEOPLE = {
    "gat-admin": ("zj-gat", ["catalog_admin"]),
    "mzt-admin": ("zj-mzt", ["catalog_admin"]),
    "zrzyt-admin": ("zj-zrzyt", ["catalog_admin"]),
    "province-admin": ("zj-dsj", ["province_admin"]),
    "auditor": ("zj-dsj", ["auditor"]),
}
SYSTEMS = {"zj-zrzyt-window": "zj-zrzyt", "zj-gat-backoffice": "zj-gat"}


def headers(app: FastAPI, who: str) -> dict[str, str]:
    """Return the Authorization header of a demo person (username) or system (client id)."""
    if who in SYSTEMS:
        kind, subject, department, roles = "system", who, SYSTEMS[who], ["system"]
    else:
        department, roles = PEOPLE[who]
        kind, subject = "user", f"user:{who}"
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=subject,
        kind=kind,
        department=department,
        roles=roles,
        client_id=who if kind == "system" else None,
    )
    return {"Authorization": f"Bearer {token}"}


def department_body(**overrides: Any) -> dict[str, Any]:
    """Return a valid objection of the 不动产 window to Alice's 居民身份证信息 name."""
    body: dict[str, Any] = {
        "resource_code": ID_CARD,
        "key": ALICE,
        "items": ["name"],
        "description": "姓名与不动产登记簿不一致（簿记：张晓明；身份证信息：张小明）",
        "proposed_correction": {"name": "张晓明"},
        "case_id": "ESF-2026-0042",
    }
    body.update(overrides)
    return body


def raise_as(client: TestClient, app: FastAPI, who: str = "zj-zrzyt-window", **body: Any) -> Any:
    """Raise a department objection and return its JSON (asserting 201)."""
    response = client.post(
        "/v1/objections", json=department_body(**body), headers=headers(app, who)
    )
    assert response.status_code == 201, response.text
    return response.json()


def answer(client: TestClient, app: FastAPI, objection_id: int, who: str, **body: Any) -> Any:
    """Post an answer and return the response."""
    return client.post(
        f"/v1/objections/{objection_id}/answer", json=body, headers=headers(app, who)
    )


def actions(objection: dict[str, Any]) -> list[str]:
    """Return the actions of an objection's history, oldest first."""
    return [e["action"] for e in objection["events"]]
