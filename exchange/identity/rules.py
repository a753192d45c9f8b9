"""Pure rules for systems' public keys (JWK, RFC 7517/8037): no session, no I/O."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePrivateKey,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from jwt.exceptions import InvalidKeyError

# The only client-assertion algorithms the hub accepts (RFC 8725 §3.1: an explicit allowlist).
ASSERTION_ALGS = frozenset({"EdDSA", "ES256"})
# JWK members that carry private or symmetric key material (RFC 7517/7518/8037).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 10
PublicKey = Ed25519PublicKey | EllipticCurvePublicKey
PrivateKey = Ed25519PrivateKey | EllipticCurvePrivateKey


def jwk_alg(jwk: dict[str, Any]) -> str | None:
    """Return the signing algorithm a JWK's type and curve imply (EdDSA, ES256), or None."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return "EdDSA"
    if kty == "EC" and crv == "P-256":
        return "ES256"
    return None


def public_key(jwk: dict[str, Any]) -> tuple[str, PublicKey]:
    """Parse a public Ed25519 or P-256 JWK into (algorithm, key); raise ``ValueError``."""
    alg = jwk_alg(jwk)
    if alg is None:
        raise ValueError("key must be OKP with crv Ed25519 or EC with crv P-256")
    if any(member in jwk for member in PRIVATE_MEMBERS):
        raise ValueError("key carries private key material")
    if "alg" in jwk and jwk["alg"] != alg:
        raise ValueError(f"key alg must be {alg} for this key type")
    try:
        key = OKPAlgorithm.from_jwk(jwk) if alg == "EdDSA" else ECAlgorithm.from_jwk(jwk)
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"key does not parse: {exc}") from exc
    if isinstance(key, Ed25519PublicKey):
        return alg, key
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1):
        return alg, key
    raise ValueError("key is not a public Ed25519 or P-256 key")


def private_key(jwk: dict[str, Any]) -> tuple[str, PrivateKey]:
    """Parse a private Ed25519 or P-256 JWK into (algorithm, key); raise ``ValueError``."""
    alg = jwk_alg(jwk)
    if alg is None or "d" not in jwk:
        raise ValueError("expected a private OKP Ed25519 or EC P-256 JWK (with a 'd' member)")
    try:
        key = OKPAlgorithm.from_jwk(jwk) if alg == "EdDSA" else ECAlgorithm.from_jwk(jwk)
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"key does not parse: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey | EllipticCurvePrivateKey):
        raise ValueError("key is not a private key")
    return alg, key


def public_part(jwk: dict[str, Any]) -> dict[str, Any]:
    """Return ``jwk`` without its private members."""
    return {k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS}


def thumbprint(jwk: dict[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of a Ed25519 or P-256 key (a stable ``kid``)."""
    members = ("crv", "kty", "x") if jwk.get("kty") == "OKP" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def jwks_problems(jwks: dict[str, Any], field: str = "jwks") -> list[dict[str, str]]:
    """Return field errors for a system's JWK Set: public signing keys with unique kids only."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        return [{"field": f"{field}.keys", "message": "must be a non-empty list of JWKs"}]
    if len(keys) > MAX_KEYS:
        return [{"field": f"{field}.keys", "message": f"at most {MAX_KEYS} keys"}]
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, jwk in enumerate(keys):
        where = f"{field}.keys[{i}]"
        if not isinstance(jwk, dict):
            problems.append({"field": where, "message": "must be a JSON object"})
            continue
        private = [m for m in PRIVATE_MEMBERS if m in jwk]
        if private:
            problems.append(
                {
                    "field": f"{where}.{private[0]}",
                    "message": "private key material must never be registered; send the public key",
                }
            )
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not 1 <= len(kid) <= 128:
            problems.append({"field": f"{where}.kid", "message": "a kid of 1-128 characters"})
        elif kid in seen:
            problems.append({"field": f"{where}.kid", "message": f"duplicate kid {kid!r}"})
        else:
            seen.add(kid)
        if jwk.get("use", "sig") != "sig":
            problems.append({"field": f"{where}.use", "message": "must be 'sig'"})
        try:
            public_key(jwk)
        except ValueError as exc:
            problems.append({"field": where, "message": str(exc)})
    return problems


def find_key(jwks: dict[str, Any], kid: str) -> dict[str, Any] | None:
    """Return the JWK with ``kid`` from a registered JWK Set, if there is one."""
    for jwk in jwks.get("keys") or []:
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None
