"""Helpers for the record-pull tests on the demo province: tokens, grants, log entries."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from exchange.audit.models import AuditEntry
from exchange.demo.sources import cast
from exchange.identity.tokens import issue_access_token

ID_CARD = "301001002/000002"  # 居民身份证信息, zj-gat, 有条件共享
HOUSEHOLD = "301001001/000001"  # 居民户籍信息, zj-gat
MARRIAGE = "302001001/000001"  # 婚姻登记信息, zj-mzt
PROPERTY = "303001001/000001"  # 不动产权, zj-zrzyt (DuckDB)
DEED_TAX = "304001002/000002"  # 契税完税信息, zj-tax (DuckDB)
SOCIAL_INSURANCE = "306001001/000001"  # 社会保险参保信息, zj-rlsbt (HTTP department)
COMPANY = "305001001/000001"  # 营业执照, zj-scjgj, 无条件共享
PIT = "304002001/000003"  # 个人所得税纳税记录, zj-tax, 不予共享
TRANSFER = "330000-ZR-001"  # 转移登记 (zj-zrzyt)
ESF = "esf-transfer"
WINDOW = "zj-zrzyt-window"
SELLER, BUYER = cast.SELLER_ID, cast.BUYER_ID
NOBODY = "330106199001010018"  # a valid resident ID no department knows
ID_ITEMS = ["id_number", "name", "address", "valid_until"]  # what esf-transfer needs

# Demo principals: who → (kind, department, roles).
PRINCIPALS: dict[str, tuple[str, str, list[str]]] = {
    "zj-zrzyt-window": ("system", "zj-zrzyt", ["system"]),
    "zj-zrzyt-backoffice": ("system", "zj-zrzyt", ["system"]),
    "zj-mzt-backoffice": ("system", "zj-mzt", ["system"]),
    "zj-gat-backoffice": ("system", "zj-gat", ["system"]),
    "zj-scjgj-window": ("system", "zj-scjgj", ["system"]),
    "zrzyt-admin": ("user", "zj-zrzyt", ["catalog_admin"]),
    "gat-admin": ("user", "zj-gat", ["catalog_admin"]),
    "mzt-admin": ("user", "zj-mzt", ["catalog_admin"]),
    "tax-admin": ("user", "zj-tax", ["catalog_admin"]),
    "zjt-admin": ("user", "zj-zjt", ["catalog_admin"]),
    "rlsbt-admin": ("user", "zj-rlsbt", ["catalog_admin"]),
    "scjgj-admin": ("user", "zj-scjgj", ["catalog_admin"]),
    "province-admin": ("user", "zj-dsj", ["province_admin"]),
}
PROVIDER_ADMIN = {
    dept: who for who, (kind, dept, roles) in PRINCIPALS.items() if "catalog_admin" in roles
}


def headers(app: FastAPI, who: str) -> dict[str, str]:
    """Return the Authorization header of a demo system (client id) or person (username)."""
    kind, department, roles = PRINCIPALS[who]
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=who if kind == "system" else f"user:{who}",
        kind=kind,
        department=department,
        roles=roles,
        client_id=who if kind == "system" else None,
    )
    return {"Authorization": f"Bearer {token}"}


def approve_all(client: TestClient, app: FastAPI, grants: list[dict[str, Any]]) -> None:
    """Have each provider's administrator approve the pending grant requests."""
    for grant in grants:
        if grant["status"] != "pending":
            continue
        admin = PROVIDER_ADMIN[grant["provider"]]
        response = client.post(
            f"/v1/grants/{grant['id']}/approve", json={}, headers=headers(app, admin)
        )
        assert response.status_code == 200, response.text


def grant_esf_transfer(client: TestClient, app: FastAPI) -> list[dict[str, Any]]:
    """File zj-zrzyt's data demand for 二手房交易过户 and have the providers approve it."""
    url = f"/v1/one-things/{ESF}/demand/file?consumer=zj-zrzyt"
    response = client.post(url, headers=headers(app, "zrzyt-admin"))
    assert response.status_code == 200, response.text
    grants = [r["grant"] for r in response.json()["requests"]]
    approve_all(client, app, grants)
    return grants


def request_grant(client: TestClient, app: FastAPI, who: str, **body: Any) -> dict[str, Any]:
    """File a grant request as ``who`` and have the provider approve it; return the grant."""
    body.setdefault("need", "测试：调取数据核验")
    response = client.post("/v1/grants", json=body, headers=headers(app, who))
    assert response.status_code == 201, response.text
    approve_all(client, app, [response.json()])
    found = client.get(f"/v1/grants/{response.json()['id']}", headers=headers(app, who))
    grant: dict[str, Any] = found.json()
    return grant


def lookup(
    client: TestClient,
    app: FastAPI,
    code: str,
    *,
    who: str = WINDOW,
    keys: list[str] | None = None,
    items: list[str] | None = None,
    purpose: str = TRANSFER,
    **extra: Any,
) -> Any:
    """POST a lookup and return the response."""
    body = {
        "keys": keys if keys is not None else [SELLER],
        "items": items if items is not None else ID_ITEMS,
        "purpose": purpose,
        **extra,
    }
    return client.post(f"/v1/records/{code}/lookup", json=body, headers=headers(app, who))


def entries(app: FastAPI, after: int = 0) -> list[AuditEntry]:
    """Return the access-log entries past sequence number ``after``, in order."""
    with app.state.sessionmaker() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq > after).order_by("seq"))
        return list(rows)


def last_seq(app: FastAPI) -> int:
    """Return the last sequence number of the access log (0 when empty)."""
    found = entries(app)
    return found[-1].seq if found else 0
