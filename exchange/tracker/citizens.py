"""Citizens: tokens of a trusted external identity provider, verified per RFC 8725.

A citizen is not a hub principal: no role, no department, no casbin. The provider (浙里办 /
浙江政务服务网 统一身份认证, configured as issuer + JWKS) vouches for who they are; the hub
takes their 18-digit resident ID (公民身份号码) from one claim and shows them the access-log
entries and objections about that ID, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from catalogs.identifiers import resident_id_problem
from exchange.core.errors import Unauthorized
from exchange.core.settings import Settings
from exchange.tracker.keys import ProviderKeys

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


@dataclass(frozen=True)
class Citizen:
    """A verified citizen: their resident ID and the provider's view of who they are."""

    id_number: str  # 公民身份号码, check digit verified
    subject: str  # the provider's ``sub``
    issuer: str
    token_id: str | None  # ``jti``, when the provider sets one
    expires_at: datetime


def decode_verified(
    token: str,
    key: Any,
    *,
    algorithm: str,
    audience: str,
    issuer: str,
    leeway: int,
    required: Sequence[str],
) -> dict[str, Any]:
    """Verify ``token``'s signature and registered claims; raise ``Unauthorized`` on any defect.

    ``algorithm`` must come from the key, never from the token's header (RFC 8725 §3.1).
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": list(required)},
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
    return claims


def verify_citizen_token(keys: ProviderKeys, settings: Settings, token: str) -> Citizen:
    """Verify a citizen's token from the configured identity provider and return the citizen."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed token") from exc
    alg = header.get("alg")
    # An explicit allowlist of asymmetric algorithms: "none" and HS* (a public key used as
    # an HMAC secret) never get as far as a key lookup.
    if not isinstance(alg, str) or alg not in settings.citizen_idp_algorithms:
        raise Unauthorized("token algorithm not allowed")
    if "crit" in header:
        raise Unauthorized("token has critical header parameters the hub does not understand")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise Unauthorized("token kid is not a string")
    key = keys.find(kid, alg)
    if key is None:
        raise Unauthorized("token signed by an unknown key")
    claim = settings.citizen_idp_id_claim
    claims = decode_verified(
        token,
        key.key,
        algorithm=key.alg,
        audience=settings.citizen_idp_audience,
        issuer=settings.citizen_idp_issuer,
        leeway=settings.token_leeway_seconds,
        required=[*REQUIRED_CLAIMS, claim],
    )
    value = claims[claim]
    if not isinstance(value, str):
        raise Unauthorized(f"token claim {claim} is not a resident ID")
    # A lower-case check character "x" is the same ID; the log stores the upper-case form.
    id_number = value.strip().upper()
    problem = resident_id_problem(id_number)
    if problem is not None:
        raise Unauthorized(f"token claim {claim} is not a valid resident ID: {problem}")
    jti = claims.get("jti")
    return Citizen(
        id_number=id_number,
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
        token_id=jti if isinstance(jti, str) else None,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
