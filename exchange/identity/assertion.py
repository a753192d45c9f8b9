"""Verify a client assertion (``private_key_jwt``, RFC 7523 §3) and spend its ``jti`` once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.exceptions import InvalidSubjectError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.core.inputs import NUL
from exchange.core.settings import Settings
from exchange.identity import repository, rules
from exchange.identity.errors import invalid_client
from exchange.identity.models import System, UsedAssertion

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]
MAX_JTI_LENGTH = 255


def token_endpoint_url(settings: Settings) -> str:
    """Return the URL a client assertion's ``aud`` names (the token endpoint)."""
    return f"{settings.issuer.rstrip('/')}/oauth/token"


def verify_client_assertion(
    session: Session, settings: Settings, *, assertion: str, client_id: str | None
) -> tuple[System, dict[str, Any]]:
    """Return the active system that signed ``assertion`` and its claims, or raise ``OAuthError``.

    This only reads; call ``spend_assertion`` to record the ``jti`` before answering.
    """
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise invalid_client("client assertion is not a well-formed JWT") from exc
    alg = header.get("alg")
    if alg not in rules.ASSERTION_ALGS:
        raise invalid_client("client assertion alg must be EdDSA or ES256")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise invalid_client("client assertion has no iss")
    if NUL in issuer:  # never looked up: PostgreSQL text cannot hold it
        raise invalid_client("client assertion iss is not a client id")
    if client_id is not None and client_id != issuer:
        raise invalid_client("client_id does not match the assertion iss")
    system = repository.system_by_client_id(session, issuer)
    if system is None:
        raise invalid_client("unknown client")
    if system.status != "active":
        raise invalid_client("client is disabled")
    kid = header.get("kid")
    jwk = rules.find_key(system.jwks, kid) if isinstance(kid, str) else None
    if jwk is None:
        raise invalid_client("client assertion kid is not one of the client's registered keys")
    try:
        key_alg, key = rules.public_key(jwk)
    except ValueError as exc:
        raise invalid_client("the client's registered key is unusable") from exc
    if key_alg != alg:
        raise invalid_client(f"client assertion alg does not match key {kid}")
    return system, _decode(assertion, key, key_alg, settings, issuer)


def _decode(
    assertion: str, key: rules.PublicKey, alg: str, settings: Settings, issuer: str
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key,
            # From the registered key, never from the token's header (RFC 8725 §3.1).
            algorithms=[alg],
            audience=[token_endpoint_url(settings), settings.issuer],
            issuer=issuer,
            subject=issuer,
            leeway=settings.token_leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise invalid_client("client assertion expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise invalid_client("client assertion aud must be the token endpoint URL") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise invalid_client(f"client assertion lacks required claim {exc.claim}") from exc
    except InvalidSubjectError as exc:
        raise invalid_client("client assertion sub must equal iss (the client_id)") from exc
    except jwt.ImmatureSignatureError as exc:
        raise invalid_client("client assertion not yet valid (iat or nbf in the future)") from exc
    except jwt.PyJWTError as exc:
        raise invalid_client("client assertion signature or claims invalid") from exc
    horizon = utcnow() + timedelta(
        seconds=settings.client_assertion_max_age_seconds + settings.token_leeway_seconds
    )
    if datetime.fromtimestamp(int(claims["exp"]), UTC) > horizon:
        raise invalid_client(
            f"client assertion exp is more than {settings.client_assertion_max_age_seconds}"
            " seconds in the future"
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH or NUL in jti:
        raise invalid_client(f"client assertion jti must be 1-{MAX_JTI_LENGTH} characters, no NUL")
    return claims


def spend_assertion(
    session: Session, settings: Settings, *, client_id: str, claims: dict[str, Any]
) -> None:
    """Record the assertion's ``jti`` as spent; raise ``OAuthError`` if it already was."""
    now = utcnow()
    repository.purge_used_assertions(session, before=now)
    jti = str(claims["jti"])
    if repository.assertion_used(session, client_id=client_id, jti=jti):
        raise invalid_client("client assertion already used (jti replay)")
    # Keep the jti as long as the assertion could still pass the exp check.
    until = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(
        seconds=settings.token_leeway_seconds
    )
    session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=until))
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent request spent the same jti between our check and our insert.
        session.rollback()
        raise invalid_client("client assertion already used (jti replay)") from exc
