"""The token endpoint: OAuth2 client credentials with private_key_jwt (RFC 6749 §4.4, RFC 7523)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exchange.core.db import session_scope, utcnow
from exchange.identity import clients, service
from exchange.identity.errors import OAuthError
from exchange.identity.models import System, UsedAssertion
from tests.fixtures.factories import create_system
from tests.identity.conftest import (
    TOKEN_URL,
    RegisteredSystem,
    b64url,
    post_token,
    register_system,
)


def assert_invalid_client(response, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_client"
    assert fragment in body["error_description"]


def test_client_credentials_then_me(client: TestClient, system: RegisteredSystem) -> None:
    response = client.post(
        "/oauth/token",
        data=clients.token_request_form(system.client_id, system.assertion()),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == client.app.state.settings.access_token_ttl_seconds  # type: ignore[attr-defined]

    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    who = me.json()
    assert who["subject"] == "zj-gat-window"
    assert who["kind"] == "system"
    assert who["department"] == "zj-gat"
    assert who["roles"] == ["system"]
    assert who["client_id"] == "zj-gat-window"
    assert who["expires_at"] is not None


def test_request_access_token_helper_works_over_http(
    client: TestClient, system: RegisteredSystem
) -> None:
    body = clients.request_access_token(
        client,
        client_id=system.client_id,
        private_jwk=system.private_jwk,
        token_url="/oauth/token",
        audience=TOKEN_URL,
    )
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["subject"] == system.client_id


def test_issuer_itself_is_an_accepted_audience(
    client: TestClient, system: RegisteredSystem
) -> None:
    assert post_token(client, system.assertion(aud="http://testserver")).status_code == 200


def test_es256_key_is_accepted(app: FastAPI, client: TestClient, db: Session) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": "p256-1"}
    create_system(db, "zj-mz-window", department="zj-mz", jwks={"keys": [public_jwk]})
    db.commit()
    now = int(time.time())
    claims = {"iss": "zj-mz-window", "sub": "zj-mz-window", "aud": TOKEN_URL}
    claims |= {"iat": now, "exp": now + 60, "jti": "es-1"}
    assertion = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "p256-1"})
    response = post_token(client, assertion)
    assert response.status_code == 200, response.text


def test_replayed_assertion_is_rejected(
    client: TestClient, system: RegisteredSystem, db: Session
) -> None:
    assertion = system.assertion()
    assert post_token(client, assertion).status_code == 200
    assert_invalid_client(post_token(client, assertion), "already used")
    assert db.scalar(select(UsedAssertion.jti).where(UsedAssertion.client_id == system.client_id))


def test_same_jti_from_another_system_is_not_a_replay(
    app: FastAPI, client: TestClient, db: Session, system: RegisteredSystem
) -> None:
    other = register_system(app, db, "zj-mz-window", "zj-mz")
    assert post_token(client, system.assertion(jti="shared-jti")).status_code == 200
    assert post_token(client, other.assertion(jti="shared-jti")).status_code == 200


def test_expired_spent_assertions_are_purged(
    client: TestClient, system: RegisteredSystem, db: Session
) -> None:
    db.add(UsedAssertion(client_id="old", jti="old-1", expires_at=utcnow() - timedelta(hours=1)))
    db.commit()
    assert post_token(client, system.assertion()).status_code == 200
    db.expire_all()
    jtis = db.scalars(select(UsedAssertion.jti)).all()
    assert "old-1" not in jtis and len(jtis) == 1


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (lambda now: {"aud": "http://testserver/other"}, "aud"),
        (lambda now: {"aud": "datarun-hub"}, "aud"),
        (lambda now: {"exp": now - 120, "iat": now - 180}, "expired"),
        (lambda now: {"exp": now + 3600}, "in the future"),
        (lambda now: {"iat": now + 300, "exp": now + 320}, "not yet valid"),
        (lambda now: {"sub": "someone-else"}, "sub"),
        (lambda now: {"jti": None}, "jti"),
        (lambda now: {"iat": None}, "iat"),
        (lambda now: {"exp": None}, "exp"),
        (lambda now: {"headers": {"kid": "not-registered"}}, "kid"),
        (lambda now: {"headers": {"kid": None}}, "kid"),
    ],
    ids=[
        "wrong-aud-url",
        "aud-is-access-token-audience",
        "expired",
        "exp-too-far",
        "iat-in-future",
        "sub-not-iss",
        "no-jti",
        "no-iat",
        "no-exp",
        "unknown-kid",
        "no-kid",
    ],
)
def test_defective_assertion_is_invalid_client(
    client: TestClient, system: RegisteredSystem, overrides: Callable[[int], dict], fragment: str
) -> None:
    assertion = system.assertion(**overrides(int(time.time())))
    assert_invalid_client(post_token(client, assertion), fragment)


def test_assertion_signed_by_another_key_with_the_registered_kid(
    client: TestClient, system: RegisteredSystem
) -> None:
    impostor, _ = clients.generate_key_pair()
    impostor["kid"] = system.private_jwk["kid"]
    forged = clients.build_client_assertion(system.client_id, impostor, TOKEN_URL)
    assert_invalid_client(post_token(client, forged), "signature")


def test_alg_none_assertion_is_rejected(client: TestClient, system: RegisteredSystem) -> None:
    now = int(time.time())
    header = {"alg": "none", "kid": system.public_jwk["kid"]}
    claims = {"iss": system.client_id, "sub": system.client_id, "aud": TOKEN_URL}
    claims |= {"iat": now, "exp": now + 60, "jti": "none-1"}
    assertion = f"{b64url(header)}.{b64url(claims)}."
    assert_invalid_client(post_token(client, assertion), "alg")


def test_hs256_with_the_public_key_as_secret_is_rejected(
    client: TestClient, system: RegisteredSystem
) -> None:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": system.public_jwk["kid"]}
    claims = {"iss": system.client_id, "sub": system.client_id, "aud": TOKEN_URL}
    claims |= {"iat": now, "exp": now + 60, "jti": "hs-1"}
    signing_input = f"{b64url(header)}.{b64url(claims)}"
    secret = json.dumps(system.public_jwk).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert_invalid_client(post_token(client, f"{signing_input}.{b64url(mac)}"), "alg")


def test_unknown_client_and_mismatched_client_id(
    client: TestClient, system: RegisteredSystem
) -> None:
    assertion = system.assertion(iss="nobody", sub="nobody")
    assert_invalid_client(post_token(client, assertion), "unknown client")
    mismatched = post_token(client, system.assertion(), client_id="zj-other")
    assert_invalid_client(mismatched, "client_id")


def test_disabled_system_cannot_get_a_token(
    client: TestClient, system: RegisteredSystem, db: Session
) -> None:
    db.execute(update(System).where(System.client_id == system.client_id).values(status="disabled"))
    db.commit()
    assert_invalid_client(post_token(client, system.assertion()), "disabled")


def test_garbage_assertion_is_invalid_client(client: TestClient, system: RegisteredSystem) -> None:
    assert_invalid_client(post_token(client, "not.a.jwt!"), "well-formed")


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        (
            {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:something-else",
                "client_assertion": "x.y.z",
            },
            401,
            "invalid_client",
        ),
    ],
)
def test_malformed_requests_get_oauth_errors(
    client: TestClient, data: dict, status: int, error: str
) -> None:
    response = client.post("/oauth/token", data=data)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def test_json_body_and_repeated_parameters_are_invalid_request(
    client: TestClient, system: RegisteredSystem
) -> None:
    as_json = client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    body = "grant_type=client_credentials&grant_type=client_credentials"
    repeated = client.post(
        "/oauth/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400
    assert "repeated" in repeated.json()["error_description"]


def test_concurrent_replay_spends_the_assertion_once(
    app: FastAPI, system: RegisteredSystem
) -> None:
    app.state.keyring.signing()
    params = {
        k: [v] for k, v in clients.token_request_form("zj-gat-window", system.assertion()).items()
    }
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            with session_scope(app.state.sessionmaker) as session:
                service.client_credentials(
                    session, app.state.keyring, app.state.settings, params=params
                )
            outcomes.append("token")
        except OAuthError as exc:
            outcomes.append(exc.error)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["invalid_client"] * 3 + ["token"]
