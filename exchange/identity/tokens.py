"""Hub access tokens: issue and verify, following RFC 9068 and RFC 8725."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from exchange.core.db import utcnow
from exchange.core.errors import Unauthorized
from exchange.core.settings import Settings
from exchange.identity.keys import ALG, KeyRing
from exchange.identity.principal import Principal

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105  (a JWT type, not a secret)
# RFC 9068 §4: "at+jwt", or its full media type; media types compare case-insensitively.
_ACCEPTED_TYP = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]


def issue_access_token(
    keyring: KeyRing,
    settings: Settings,
    *,
    subject: str,
    kind: str,
    department: str,
    roles: Iterable[str],
    client_id: str | None = None,
    ttl_seconds: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a short-lived access token and return it with its claims."""
    kid, key = keyring.signing()
    now = utcnow()
    ttl = ttl_seconds or settings.access_token_ttl_seconds
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
        "kind": kind,
        "dept": department,
        "roles": sorted(roles),
    }
    if client_id:
        claims["client_id"] = client_id
    token = jwt.encode(claims, key, algorithm=ALG, headers={"kid": kid, "typ": ACCESS_TOKEN_TYP})
    return token, claims


def verify_access_token(keyring: KeyRing, settings: Settings, token: str) -> Principal:
    """Verify ``token`` and return its principal; raise ``Unauthorized`` on any defect."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed token") from exc
    if header.get("alg") != ALG:
        raise Unauthorized("token algorithm not allowed")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP:
        raise Unauthorized("token type must be at+jwt")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise Unauthorized("token has no key id")
    key = keyring.verification_key(kid)
    if key is None:
        raise Unauthorized("token signed by an unknown key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALG],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.token_leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthorized("token not yet valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("token audience mismatch") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthorized("token issuer mismatch") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"token lacks required claim {exc.claim}") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("token signature or format invalid") from exc
    return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    kind = claims.get("kind")
    dept = claims.get("dept")
    roles = claims.get("roles")
    if kind not in ("system", "user") or not isinstance(dept, str) or not isinstance(roles, list):
        raise Unauthorized("token lacks the hub's principal claims")
    return Principal(
        subject=str(claims["sub"]),
        kind=kind,
        department=dept,
        roles=frozenset(str(r) for r in roles),
        token_id=str(claims["jti"]),
        client_id=claims.get("client_id"),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
