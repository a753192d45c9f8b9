"""Helpers for the grant lifecycle tests on the demo province (浙江省)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.grants.models import Grant, PolicyState
from exchange.grants.service import china_today
from exchange.identity.tokens import issue_access_token

# Demo resources (exchange/demo/province.json).
ID_CARD = "301001002/000002"  # 居民身份证信息, zj-gat, 有条件共享
SEAL = "301002001/000003"  # 印章刻制备案信息, zj-gat, 无条件共享
PIT = "304002001/000003"  # 个人所得税纳税记录, zj-tax, 不予共享
MARRIAGE = "302001001/000001"  # 婚姻登记信息, zj-mzt, 有条件共享
TRANSFER_ITEM = "330000-ZR-001"  # 二手房不动产转移登记 (zj-zrzyt)
ESF = "esf-transfer"

# Demo people: username → (department, roles).
PEOPLE = {
    "zrzyt-admin": ("zj-zrzyt", ["catalog_admin"]),
    "gat-admin": ("zj-gat", ["catalog_admin"]),
    "mzt-admin": ("zj-mzt", ["catalog_admin"]),
    "tax-admin": ("zj-tax", ["catalog_admin"]),
    "scjgj-admin": ("zj-scjgj", ["catalog_admin"]),
    "zjt-admin": ("zj-zjt", ["catalog_admin"]),
    "rlsbt-admin": ("zj-rlsbt", ["catalog_admin"]),
    "province-admin": ("zj-dsj", ["province_admin"]),
    "auditor": ("zj-dsj", ["auditor"]),
}
SYSTEMS = {
    "zj-zrzyt-window": "zj-zrzyt",
    "zj-zrzyt-backoffice": "zj-zrzyt",
    "zj-gat-backoffice": "zj-gat",
}
# Provider department → its admin, to approve the requests the planner files.
PROVIDER_ADMIN = {dept: name for name, (dept, roles) in PEOPLE.items() if "catalog_admin" in roles}


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


def request_body(**overrides: Any) -> dict[str, Any]:
    """Return a valid request of zj-zrzyt for ID card items, for the transfer registration."""
    body: dict[str, Any] = {
        "resource": ID_CARD,
        "items": ["id_number", "name", "address"],
        "purposes": [TRANSFER_ITEM],
        "need": "二手房转移登记核验买卖双方身份",
    }
    body.update(overrides)
    return body


def file_request(client: TestClient, app: FastAPI, who: str = "zrzyt-admin", **body: Any) -> Any:
    """File a request and return its JSON (asserting 201)."""
    response = client.post("/v1/grants", json=request_body(**body), headers=headers(app, who))
    assert response.status_code == 201, response.text
    return response.json()


def approved(client: TestClient, app: FastAPI, **body: Any) -> Any:
    """File a conditional request and have the provider approve it; return the grant."""
    grant = file_request(client, app, **body)
    response = client.post(
        f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, "gat-admin")
    )
    assert response.status_code == 200, response.text
    return response.json()


def actions(grant: dict[str, Any]) -> list[str]:
    """Return the actions of a grant's history, oldest first."""
    return [e["action"] for e in grant["events"]]


def policy_version(db: Session) -> int:
    """Return the grant policy's version as committed."""
    db.expire_all()
    version = db.scalar(select(PolicyState.version).where(PolicyState.id == 1))
    db.rollback()
    return int(version or 0)


def grant_count(db: Session) -> int:
    """Return how many grant rows exist."""
    count = db.scalar(select(func.count()).select_from(Grant)) or 0
    db.rollback()
    return count


def set_dates(db: Session, grant_id: int, **values: date | None) -> None:
    """Move a grant's dates (to simulate time passing) and commit."""
    grant = db.get(Grant, grant_id)
    assert grant is not None
    for name, value in values.items():
        setattr(grant, name, value)
    db.commit()


def today() -> date:
    """Return today in China, as the hub sees it."""
    return china_today()
