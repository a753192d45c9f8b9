"""Access tokens already verified, so a system's repeated token is checked once."""

from __future__ import annotations

import time

import jwt

from exchange.identity.keys import KeyRing
from exchange.identity.principal import Principal


class VerifiedTokens:
    """Tokens already verified, by their exact text, for ``ttl`` seconds and until expiry.

    A department system sends the same access token for minutes; its Ed25519 signature and
    claims are checked once, and the same bytes are accepted again until the token expires
    or ``ttl`` (the key ring's own refresh period) passes, whichever is first.
    """

    def __init__(self, keyring: KeyRing, *, ttl: float = 30.0, size: int = 10_000) -> None:
        self._keyring = keyring
        self._ttl = ttl
        self._size = size
        self._seen: dict[str, tuple[float, float, str, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        """Return the principal of a token verified recently, unexpired, its key still valid."""
        hit = self._seen.get(token)
        if hit is None:
            return None
        checked_at, expires, kid, principal = hit
        stale = time.monotonic() - checked_at >= self._ttl or time.time() >= expires
        if stale or self._keyring.verification_key(kid) is None:  # key rotated out
            self._seen.pop(token, None)
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Remember a token that has just passed verification."""
        kid = jwt.get_unverified_header(token).get("kid")
        if principal.expires_at is None or not isinstance(kid, str):
            return
        if len(self._seen) >= self._size:
            self._seen = {}
        expires = principal.expires_at.timestamp()
        self._seen[token] = (time.monotonic(), expires, kid, principal)
