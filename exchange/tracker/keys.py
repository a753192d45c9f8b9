"""The citizen identity provider's public keys (JWKS): from a URL, cached, or from a file.

A URL is fetched with httpx and kept for ``citizen_idp_jwks_ttl_seconds``; a token naming a
``kid`` we do not hold triggers one early refetch, never more often than every few seconds
(a flood of made-up kids must not become a flood of requests to the provider). When a
refetch fails, the keys already held keep verifying until a fetch succeeds again (retried
at most every few seconds); with none held, the tracker answers 503. A file is re-read on
the same schedule (rotate keys by replacing the file).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from exchange.core.errors import ServiceUnavailable
from exchange.core.settings import Settings
from exchange.identity import rules as jwk_rules

log = logging.getLogger("datarun.tracker.keys")

MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 256 * 1024
# The most often the provider is asked again: for a kid we lack, or after a failed fetch.
_RETRY_SECONDS = 5.0
PublicKey = jwk_rules.PublicKey | RSAPublicKey


@dataclass(frozen=True)
class ProviderKey:
    """One usable verification key: its kid, the one algorithm it verifies, the key."""

    kid: str | None
    alg: str
    key: PublicKey


def parse_jwks(document: Any, allowed: frozenset[str]) -> list[ProviderKey]:
    """Return the usable signing keys of a JWK Set; skip (and log) any other member.

    The algorithm comes from the key (RSA → RS256, P-256 → ES256, Ed25519 → EdDSA), never
    from a token; a key whose ``alg`` says otherwise, an RSA key under 2048 bits, a key
    carrying private material or an encryption key is not used.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWK Set is a JSON object with a 'keys' list")
    found: list[ProviderKey] = []
    for i, jwk in enumerate(document["keys"]):
        try:
            key = _parse_key(jwk)
        except ValueError as exc:
            log.warning("citizen IdP JWKS key %s skipped: %s", i, exc)
            continue
        if key.alg in allowed:
            found.append(key)
    return found


def _parse_key(jwk: Any) -> ProviderKey:
    if not isinstance(jwk, dict):
        raise ValueError("not a JSON object")
    if jwk.get("use", "sig") != "sig":
        raise ValueError("not a signing key (use != sig)")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("kid is not a string")
    if jwk.get("kty") != "RSA":
        alg, key = jwk_rules.public_key(jwk)  # Ed25519 / P-256, with the same checks as systems
        return ProviderKey(kid, alg, key)
    if any(member in jwk for member in jwk_rules.PRIVATE_MEMBERS):
        raise ValueError("key carries private key material")
    if jwk.get("alg", "RS256") != "RS256":
        raise ValueError(f"RSA key alg {jwk.get('alg')!r} is not RS256")
    try:
        rsa = RSAAlgorithm.from_jwk(jwk)
    except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"RSA key does not parse: {exc}") from exc
    if not isinstance(rsa, RSAPublicKey):
        raise ValueError("not a public RSA key")
    if rsa.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key of {rsa.key_size} bits; at least {MIN_RSA_BITS} required")
    return ProviderKey(kid, "RS256", rsa)


@dataclass(frozen=True)
class _Snapshot:
    keys: tuple[ProviderKey, ...]
    loaded_at: float  # time.monotonic() of the last successful load
    tried_at: float  # of the last attempt, successful or not


class ProviderKeys:
    """The identity provider's verification keys, refreshed when stale (thread-safe)."""

    def __init__(self, settings: Settings, *, client: httpx.Client | None = None) -> None:
        self._url = settings.citizen_idp_jwks_url
        self._file = settings.citizen_idp_jwks_file
        self._ttl = float(settings.citizen_idp_jwks_ttl_seconds)
        self._allowed = frozenset(settings.citizen_idp_algorithms)
        self._client = client
        self._lock = threading.Lock()
        never = float("-inf")
        self._snapshot = _Snapshot((), never, never)
        if not self._url and self._file is None:
            raise ValueError("set DATARUN_CITIZEN_IDP_JWKS_URL or DATARUN_CITIZEN_IDP_JWKS_FILE")
        if self._url and self._file is not None:
            raise ValueError("set only one of DATARUN_CITIZEN_IDP_JWKS_URL and _JWKS_FILE")
        if self._url and not self._url.startswith(("https://", "http://")):
            raise ValueError("DATARUN_CITIZEN_IDP_JWKS_URL must be an http(s) URL")
        if settings.environment == "production" and self._url.startswith("http://"):
            raise ValueError("DATARUN_CITIZEN_IDP_JWKS_URL must use https in production")

    def find(self, kid: str | None, alg: str) -> ProviderKey | None:
        """Return the key for ``kid`` (or the only key for ``alg`` when the token names none)."""
        snap = self._current()
        found = _match(snap.keys, kid, alg)
        may_retry = time.monotonic() - snap.tried_at > _RETRY_SECONDS
        if found is None and kid is not None and may_retry:
            with self._lock:
                if self._snapshot is snap:
                    self._load(snap)
            found = _match(self._snapshot.keys, kid, alg)
        return found

    def _current(self) -> _Snapshot:
        snap = self._snapshot
        now = time.monotonic()
        due = now - snap.loaded_at > self._ttl or not snap.keys
        if due and now - snap.tried_at > _RETRY_SECONDS:
            with self._lock:
                if self._snapshot is snap:
                    self._load(snap)
            snap = self._snapshot
        if not snap.keys:
            raise ServiceUnavailable("the citizen identity provider's keys are unavailable")
        return snap

    def _load(self, previous: _Snapshot) -> None:
        now = time.monotonic()
        try:
            keys = parse_jwks(self._read(), self._allowed)
        except (OSError, ValueError, httpx.HTTPError) as exc:
            # Keep what verified until now: the provider's keys rarely vanish, outages do.
            log.warning("citizen IdP JWKS could not be loaded: %s", exc)
            self._snapshot = _Snapshot(previous.keys, previous.loaded_at, now)
            return
        if not keys:
            log.warning("citizen IdP JWKS has no usable key for %s", sorted(self._allowed))
        self._snapshot = _Snapshot(tuple(keys), now, now)

    def _read(self) -> Any:
        if self._file is not None:
            raw = Path(self._file).read_bytes()[: MAX_JWKS_BYTES + 1]
        else:
            client = self._client or httpx.Client(timeout=5.0, follow_redirects=False)
            try:
                response = client.get(self._url, headers={"Accept": "application/json"})
                response.raise_for_status()
                raw = response.content
            finally:
                if self._client is None:
                    client.close()
        if len(raw) > MAX_JWKS_BYTES:
            raise ValueError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"JWKS is not JSON: {exc}") from exc


def _match(keys: tuple[ProviderKey, ...], kid: str | None, alg: str) -> ProviderKey | None:
    if kid is not None:
        return next((k for k in keys if k.kid == kid and k.alg == alg), None)
    candidates = [k for k in keys if k.alg == alg]
    # Without a kid, only an unambiguous key will do.
    return candidates[0] if len(candidates) == 1 else None
