"""The systems registry admin API, and what registry changes do to a system's access."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.identity import clients
from exchange.identity.deps import Authz, CurrentPrincipal
from exchange.identity.models import System
from tests.fixtures.factories import create_department
from tests.identity.conftest import RegisteredSystem, post_token


@pytest.fixture
def admin(auth) -> dict[str, str]:
    """A province administrator's headers."""
    return auth("root", department="zj-dsj", roles=["province_admin"])


@pytest.fixture
def departments(db: Session) -> None:
    for code in ("zj-gat", "zj-mz", "zj-sw"):
        create_department(db, code, name=code)
    db.commit()


def new_system(client_id: str = "zj-gat-window", department: str = "zj-gat") -> dict[str, Any]:
    _, public = clients.generate_key_pair()
    return {
        "client_id": client_id,
        "name": "公安一窗受理系统",
        "department": department,
        "jwks": {"keys": [public]},
    }


def assert_field_error(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in response.json().get("errors", [])]
    assert field in fields, fields


def test_register_read_list_and_update(
    client: TestClient, admin: dict[str, str], departments: None
) -> None:
    created = client.post("/v1/systems", json=new_system(), headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/systems/zj-gat-window"
    body = created.json()
    assert body["roles"] == ["system"] and body["status"] == "active"
    assert body["department"] == "zj-gat"

    assert client.get("/v1/systems/zj-gat-window", headers=admin).json() == body
    for cid, dept in (("zj-mz-window", "zj-mz"), ("zj-sw-backoffice", "zj-sw")):
        response = client.post("/v1/systems", json=new_system(cid, dept), headers=admin)
        assert response.status_code == 201

    page = client.get("/v1/systems", params={"size": 2}, headers=admin).json()
    assert page["total"] == 3 and page["size"] == 2
    assert [s["client_id"] for s in page["items"]] == ["zj-gat-window", "zj-mz-window"]
    page2 = client.get("/v1/systems", params={"size": 2, "page": 2}, headers=admin).json()
    assert [s["client_id"] for s in page2["items"]] == ["zj-sw-backoffice"]
    only_mz = client.get("/v1/systems", params={"department": "zj-mz"}, headers=admin).json()
    assert [s["client_id"] for s in only_mz["items"]] == ["zj-mz-window"]

    patched = client.patch(
        "/v1/systems/zj-mz-window", json={"status": "disabled"}, headers=admin
    ).json()
    assert patched["status"] == "disabled"
    disabled = client.get("/v1/systems", params={"status": "disabled"}, headers=admin).json()
    assert disabled["total"] == 1
    assert client.get("/v1/systems/nope", headers=admin).status_code == 404


def test_duplicate_client_id_is_409_and_writes_nothing(
    client: TestClient, admin: dict[str, str], departments: None, db: Session
) -> None:
    assert client.post("/v1/systems", json=new_system(), headers=admin).status_code == 201
    again = client.post("/v1/systems", json=new_system(), headers=admin)
    assert again.status_code == 409
    assert db.scalar(select(func.count()).select_from(System)) == 1


OCT_JWK = {"kty": "oct", "k": "c2VjcmV0", "kid": "s"}


def _without_kid(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body["jwks"]["keys"][0].items() if k != "kid"}


def _rsa_jwk() -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return RSAAlgorithm.to_jwk(key, as_dict=True) | {"kid": "rsa-1"}


def _p384_jwk() -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    return ECAlgorithm.to_jwk(key, as_dict=True) | {"kid": "p384-1"}


def _private_jwk() -> dict[str, Any]:
    private, _ = clients.generate_key_pair()
    return private


def _bad_point_jwk() -> dict[str, Any]:
    _, public = clients.generate_key_pair()
    return public | {"x": "AAAA"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b | {"department": "zj-nowhere"}, "department"),
        (lambda b: b | {"client_id": "user:root"}, "client_id"),
        (lambda b: b | {"roles": ["province_admin"]}, "roles[0]"),
        (lambda b: b | {"surprise": 1}, "surprise"),
        (lambda b: b | {"jwks": {"keys": [_private_jwk()]}}, "jwks.keys[0].d"),
        (lambda b: b | {"jwks": {"keys": [OCT_JWK]}}, "jwks.keys[0].k"),
        (lambda b: b | {"jwks": {"keys": [_rsa_jwk()]}}, "jwks.keys[0]"),
        (lambda b: b | {"jwks": {"keys": [_p384_jwk()]}}, "jwks.keys[0]"),
        (lambda b: b | {"jwks": {"keys": [_bad_point_jwk()]}}, "jwks.keys[0]"),
        (lambda b: b | {"jwks": {"keys": [_without_kid(b)]}}, "jwks.keys[0].kid"),
        (lambda b: b | {"jwks": {"keys": [b["jwks"]["keys"][0]] * 2}}, "jwks.keys[1].kid"),
        (lambda b: b | {"jwks": {"keys": []}}, "jwks.keys"),
    ],
    ids=[
        *("unknown-department", "colon-in-client-id", "role-escalation", "unknown-field"),
        *("private-okp", "symmetric", "rsa", "p384", "bad-point", "no-kid", "dup-kid", "no-keys"),
    ],
)
def test_bad_registrations_name_the_field(
    client: TestClient, admin: dict[str, str], departments: None, db: Session, change, field: str
) -> None:
    response = client.post("/v1/systems", json=change(new_system()), headers=admin)
    assert_field_error(response, field)
    assert db.scalar(select(func.count()).select_from(System)) == 0


def test_only_province_admins_manage_the_registry(
    client: TestClient, auth, departments: None, system: RegisteredSystem
) -> None:
    as_system = auth("zj-mz-window", department="zj-mz", roles=["system"], kind="system")
    as_catalog_admin = auth("gat-admin", department="zj-gat", roles=["catalog_admin"])
    as_auditor = auth("audit", department="zj-sj", roles=["auditor"])
    for headers in (as_system, as_catalog_admin, as_auditor):
        response = client.post("/v1/systems", json=new_system("x-1"), headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/systems", headers=headers).status_code == 403
        url = "/v1/systems/zj-gat-window"
        assert client.patch(url, json={"status": "disabled"}, headers=headers).status_code == 403
    assert client.post("/v1/systems", json=new_system("x-2")).status_code == 401


def test_disabling_a_system_cuts_it_off(
    app: FastAPI, client: TestClient, admin: dict[str, str], system: RegisteredSystem
) -> None:
    @app.get("/test/catalog-read")
    def guarded(principal: CurrentPrincipal, authz: Authz) -> dict[str, str]:
        authz.require(principal, obj="catalog", act="read")
        return {"ok": principal.subject}

    token = post_token(client, system.assertion()).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/test/catalog-read", headers=bearer).status_code == 200

    patched = client.patch(
        f"/v1/systems/{system.client_id}", json={"status": "disabled"}, headers=admin
    )
    assert patched.status_code == 200
    refused = client.get("/test/catalog-read", headers=bearer)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    response = post_token(client, system.assertion())
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"

    client.patch(f"/v1/systems/{system.client_id}", json={"status": "active"}, headers=admin)
    assert client.get("/test/catalog-read", headers=bearer).status_code == 200
    assert post_token(client, system.assertion()).status_code == 200


def test_replacing_keys_retires_the_old_private_key(
    client: TestClient, admin: dict[str, str], system: RegisteredSystem
) -> None:
    new_private, new_public = clients.generate_key_pair()
    response = client.patch(
        f"/v1/systems/{system.client_id}", json={"jwks": {"keys": [new_public]}}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["jwks"]["keys"] == [new_public]
    old = post_token(client, system.assertion())
    assert old.status_code == 401 and "kid" in old.json()["error_description"]
    renewed = RegisteredSystem(system.client_id, new_private, new_public)
    assert post_token(client, renewed.assertion()).status_code == 200


def test_patch_refuses_private_keys_and_unknown_status(
    client: TestClient, admin: dict[str, str], system: RegisteredSystem
) -> None:
    private, _ = clients.generate_key_pair()
    url = f"/v1/systems/{system.client_id}"
    with_private = client.patch(url, json={"jwks": {"keys": [private]}}, headers=admin)
    assert_field_error(with_private, "jwks.keys[0].d")
    assert_field_error(client.patch(url, json={"status": "deleted"}, headers=admin), "status")
    assert client.get(url, headers=admin).json()["jwks"]["keys"] == [system.public_jwk]


def test_okp_key_other_than_ed25519_is_refused(
    client: TestClient, admin: dict[str, str], departments: None
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

    jwk = OKPAlgorithm.to_jwk(Ed448PrivateKey.generate().public_key(), as_dict=True)
    body = new_system() | {"jwks": {"keys": [jwk | {"kid": "ed448"}]}}
    assert_field_error(client.post("/v1/systems", json=body, headers=admin), "jwks.keys[0]")
