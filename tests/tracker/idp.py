"""A stand-in citizen identity provider (浙里办 统一身份认证): real keys, a real JWKS server.

The provider signs with an RSA key (RS256) and an EC P-256 key (ES256) generated per test
session; its JWKS is served over loopback HTTP by a stdlib server whose document the tests
can swap (key rotation) and whose hits they can count (caching).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from catalogs.identifiers import resident_id_check_digit

ISSUER = "https://puser.zjzwfw.gov.cn"
AUDIENCE = "datarun-tracker"


def rid(first17: str) -> str:
    """Return the valid 18-digit resident ID that starts with ``first17``."""
    return first17 + resident_id_check_digit(first17)


# Three citizens of 杭州市西湖区 and one whose ID has a wrong check digit.
ALICE = rid("33010619850312002")
BOB = rid("33010619900101003")
CAROL = rid("33010619781120004")
BAD_CHECK = ALICE[:17] + ("0" if ALICE[17] != "0" else "1")


def b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Provider:
    """The identity provider's keys, its JWKS server, and a token minter."""

    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    url: str = ""
    hits: int = 0
    document: dict[str, Any] = field(default_factory=dict)

    def jwks(self) -> dict[str, Any]:
        """Return the public JWK Set of both keys."""
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
        ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
        return {"keys": [rsa_jwk, ec_jwk]}

    def claims(self, id_number: str = ALICE, /, **overrides: Any) -> dict[str, Any]:
        """Return a valid claim set for ``id_number``; ``None`` overrides drop a claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"zlb-{hashlib.sha256(id_number.encode()).hexdigest()[:12]}",
            "iat": now,
            "exp": now + 600,
            "jti": f"t-{time.monotonic_ns()}",
            "id_number": id_number,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        id_number: str = ALICE,
        /,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """Return a token the provider signs (RS256 by default)."""
        key: Any = self.rsa_key if alg == "RS256" else self.ec_key
        headers = {"kid": kid or ("rsa-1" if alg == "RS256" else "ec-1")}
        return jwt.encode(self.claims(id_number, **claims), key, algorithm=alg, headers=headers)

    def public_pem(self) -> bytes:
        """Return the RSA public key as PEM (what an attacker would use as an HMAC secret)."""
        return self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def forged(self, header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
        """Return a hand-built JWT: HS256 over ``secret``, or unsigned when ``secret`` is None."""
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        if secret is None:
            return signing_input + "."
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    def bearer(self, id_number: str = ALICE, /, **kw: Any) -> dict[str, str]:
        """Return the Authorization header of a citizen."""
        return {"Authorization": f"Bearer {self.token(id_number, **kw)}"}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.hits += 1
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            body = json.dumps(provider.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def provider_keys() -> tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]:
    """The provider's RSA-2048 and P-256 keys, generated once per session."""
    return rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def idp(
    provider_keys: tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey],
) -> Iterator[Provider]:
    """The provider with its JWKS served on a free loopback port."""
    provider = Provider(*provider_keys)
    provider.document = provider.jwks()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield provider
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
