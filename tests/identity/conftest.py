"""Fixtures for identity tests: a registered system with a real key pair, and JWT crafting."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from exchange.identity import clients, rules
from exchange.identity.assertion import JWT_BEARER
from tests.fixtures.factories import create_system

TOKEN_URL = "http://testserver/oauth/token"


@dataclass
class RegisteredSystem:
    """A system in the registry and the private key only it holds."""

    client_id: str
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]

    def assertion(self, **overrides: Any) -> str:
        """Return a valid client assertion, with any claim overridden (None drops it)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.private_jwk["kid"]}
        headers.update(overrides.pop("headers", {}))
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        headers = {k: v for k, v in headers.items() if v is not None}
        _, key = rules.private_key(self.private_jwk)
        return jwt.encode(claims, key, algorithm="EdDSA", headers=headers)


def b64url(data: bytes | dict[str, Any]) -> str:
    """Base64url-encode bytes, or a dict as compact JSON, without padding."""
    raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def post_token(client: TestClient, assertion: str, **fields: str) -> Response:
    """POST a client-credentials request with ``assertion`` to the token endpoint."""
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }
    data.update(fields)
    return client.post("/oauth/token", data=data)


def register_system(
    app: FastAPI, db: Session, client_id: str = "zj-gat-window", department: str = "zj-gat"
) -> RegisteredSystem:
    """Register a system with a fresh Ed25519 key pair; return it with its private key."""
    private, public = clients.generate_key_pair()
    create_system(db, client_id, department=department, jwks={"keys": [public]})
    db.commit()
    app.state.authorizer.reload()
    return RegisteredSystem(client_id, private, public)


@pytest.fixture
def system(app: FastAPI, db: Session) -> RegisteredSystem:
    """A registered, active department system of zj-gat with its key pair."""
    return register_system(app, db)
