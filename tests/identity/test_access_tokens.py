"""Access-token verification (RFC 8725, RFC 9068): every forged or defective token is a 401."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fixtures.factories import create_user
from tests.identity.conftest import b64url

Forge = Callable[..., str]


@pytest.fixture
def forge(app: FastAPI, db: Session) -> Forge:
    """Return ``forge(claims=..., header=..., drop=[...], key=...)``: a token signed by the hub.

    By default the token is exactly what the hub would issue for a registered
    catalog_admin, so each test changes one thing only.
    """
    create_user(db, "alice", department="zj-gat", roles=["catalog_admin"])
    db.commit()
    settings = app.state.settings

    def make(
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        key: Any = None,
    ) -> str:
        kid, hub_key = app.state.keyring.signing()
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": settings.issuer,
            "aud": settings.audience,
            "sub": "user:alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "kind": "user",
            "dept": "zj-gat",
            "roles": ["catalog_admin"],
        }
        body.update(claims or {})
        for name in drop:
            body.pop(name)
        headers = {"kid": kid, "typ": "at+jwt"} | (header or {})
        return jwt.encode(body, key or hub_key, algorithm="EdDSA", headers=headers)

    return make


def me(client: TestClient, token: str) -> Any:
    return client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


def assert_rejected(response: Any, fragment: str = "") -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert fragment in response.json()["detail"]


def test_the_unaltered_forged_token_is_accepted(client: TestClient, forge: Forge) -> None:
    # The baseline each attack below changes one thing of; if it failed, they'd prove nothing.
    response = me(client, forge())
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "user:alice"
    assert response.json()["roles"] == ["catalog_admin"]


def test_full_media_type_typ_is_accepted(client: TestClient, forge: Forge) -> None:
    assert me(client, forge(header={"typ": "application/at+JWT"})).status_code == 200


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


def test_alg_none(client: TestClient, forge: Forge) -> None:
    header, payload, _ = forge().split(".")
    unsigned_header = json.loads(jwt.utils.base64url_decode(header)) | {"alg": "none"}
    assert_rejected(me(client, f"{b64url(unsigned_header)}.{payload}."), "algorithm")


def test_hs256_signed_with_the_hubs_public_key(
    client: TestClient, forge: Forge, app: FastAPI
) -> None:
    public_jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
    header, payload, _ = forge().split(".")
    hs_header = json.loads(jwt.utils.base64url_decode(header)) | {"alg": "HS256"}
    signing_input = f"{b64url(hs_header)}.{payload}"
    for secret in (json.dumps(public_jwk).encode(), jwt.utils.base64url_decode(public_jwk["x"])):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_rejected(me(client, f"{signing_input}.{b64url(mac)}"), "algorithm")


def test_unknown_kid(client: TestClient, forge: Forge) -> None:
    assert_rejected(me(client, forge(header={"kid": "hub-never-existed"})), "unknown key")


def test_known_kid_but_another_key(client: TestClient, forge: Forge) -> None:
    assert_rejected(me(client, forge(key=Ed25519PrivateKey.generate())), "signature")


def test_expired_beyond_leeway(client: TestClient, forge: Forge) -> None:
    now = int(time.time())
    token = forge({"iat": now - 400, "nbf": now - 400, "exp": now - 31 - 5})
    assert_rejected(me(client, token), "expired")


def test_expired_within_leeway_is_still_accepted(client: TestClient, forge: Forge) -> None:
    now = int(time.time())
    token = forge({"iat": now - 300, "nbf": now - 300, "exp": now - 10})
    assert me(client, token).status_code == 200


def test_nbf_in_the_future(client: TestClient, forge: Forge) -> None:
    assert_rejected(me(client, forge({"nbf": int(time.time()) + 120})), "not yet valid")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"claims": {"aud": "some-other-api"}}, "audience"),
        ({"claims": {"iss": "https://evil.example"}}, "issuer"),
        ({"header": {"typ": "JWT"}}, "type"),
        ({"header": {"typ": ""}}, "type"),  # PyJWT omits an empty typ
        ({"drop": ("jti",)}, "jti"),
        ({"drop": ("exp",)}, "exp"),
        ({"drop": ("nbf",)}, "nbf"),
        ({"drop": ("sub",)}, "sub"),
        ({"drop": ("aud",)}, "aud"),
        ({"drop": ("dept",)}, "principal"),
    ],
    ids=[
        *("aud", "iss", "typ-jwt", "no-typ", "no-jti"),
        *("no-exp", "no-nbf", "no-sub", "no-aud", "no-dept"),
    ],
)
def test_defective_claims_and_headers(
    client: TestClient, forge: Forge, change: dict[str, Any], fragment: str
) -> None:
    assert_rejected(me(client, forge(**change)), fragment)


def test_tampered_payload(client: TestClient, forge: Forge) -> None:
    header, payload, signature = forge().split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["roles"] = ["province_admin"]
    assert_rejected(me(client, f"{header}.{b64url(claims)}.{signature}"), "signature")


def test_tampered_signature(client: TestClient, forge: Forge) -> None:
    header, payload, signature = forge().split(".")
    raw = bytearray(jwt.utils.base64url_decode(signature))
    raw[10] ^= 0x01
    assert_rejected(me(client, f"{header}.{payload}.{b64url(bytes(raw))}"), "signature")


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "eyJhbGciOiJFZERTQSJ9.%%%.abc", "...", "eyJ!!.eyJ.sig"],
)
def test_malformed_tokens(client: TestClient, token: str) -> None:
    assert_rejected(me(client, token))


def test_malformed_base64_in_a_real_tokens_payload(client: TestClient, forge: Forge) -> None:
    header, payload, signature = forge().split(".")
    assert_rejected(me(client, f"{header}.{payload[:-3]}*{payload[-2:]}.{signature}"))
