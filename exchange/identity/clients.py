"""The client side of ``private_key_jwt``: key pairs, client assertions, the token request.

Used by the ``datarun`` CLI, the demo seeder and the tests, and a template for department
systems written in Python: the private key stays with the system; only a short-lived,
single-use assertion signed with it crosses the wire (RFC 7523).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from exchange.identity import rules
from exchange.identity.assertion import JWT_BEARER

DEFAULT_ASSERTION_LIFETIME = 60


def generate_key_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a new Ed25519 (private JWK, public JWK); the kid is the RFC 7638 thumbprint."""
    private: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate()))
    private.update({"kid": rules.thumbprint(private), "alg": "EdDSA", "use": "sig"})
    return private, rules.public_part(private)


def build_client_assertion(
    client_id: str,
    private_jwk: dict[str, Any],
    audience: str,
    *,
    lifetime_seconds: int = DEFAULT_ASSERTION_LIFETIME,
    jti: str | None = None,
) -> str:
    """Sign a single-use client assertion (iss = sub = ``client_id``, aud = token endpoint)."""
    alg, key = rules.private_key(private_jwk)
    kid = private_jwk.get("kid") or rules.thumbprint(private_jwk)
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def token_request_form(client_id: str, assertion: str) -> dict[str, str]:
    """Return the form fields of a client-credentials request with a client assertion."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        "client_id": client_id,
    }


def request_access_token(
    http: httpx.Client,
    *,
    client_id: str,
    private_jwk: dict[str, Any],
    token_url: str,
    audience: str | None = None,
) -> dict[str, Any]:
    """POST a client-credentials request to ``token_url``; return the token response.

    ``http`` may be any ``httpx.Client`` (FastAPI's ``TestClient`` is one). Raises
    ``httpx.HTTPStatusError`` when the hub refuses; its body is RFC 6749 §5.2 JSON.
    """
    assertion = build_client_assertion(client_id, private_jwk, audience or token_url)
    response = http.post(token_url, data=token_request_form(client_id, assertion))
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
