"""Who may pull what: the caller's token and role, and the grant decisions, each remembered."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from exchange.grants.enforcer import Decision
from exchange.grants.engine import GrantPolicy
from exchange.grants.policy import hub_today
from exchange.identity.authz import Authorizer
from exchange.identity.deps import _bearer as bearer
from exchange.identity.deps import current_principal
from exchange.identity.principal import Principal


class VerifiedTokens:
    """Tokens already verified, by their exact text, for ``ttl`` seconds and until expiry.

    A department system sends the same access token for minutes; its Ed25519 signature and
    claims are checked once, and the same bytes are accepted again until the token expires
    or ``ttl`` (the key ring's own refresh period) passes, whichever is first.
    """

    def __init__(self, *, ttl: float = 30.0, size: int = 10_000) -> None:
        self._ttl = ttl
        self._size = size
        self._seen: dict[str, tuple[float, float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        """Return the principal of a token verified recently and not expired, if any."""
        hit = self._seen.get(token)
        if hit is None:
            return None
        checked_at, expires, principal = hit
        if time.monotonic() - checked_at >= self._ttl or time.time() >= expires:
            del self._seen[token]
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Remember a token that passed verification."""
        if principal.expires_at is None:
            return
        if len(self._seen) >= self._size:
            self._seen = {}
        self._seen[token] = (time.monotonic(), principal.expires_at.timestamp(), principal)


async def data_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Verify the bearer token on the event loop (``CurrentPrincipal`` without a thread hop).

    The check is CPU only (an Ed25519 signature and the claims) except when the key ring's
    snapshot is stale (every 30 s), when it reads the hub database once; a thread hop per
    request would cost more than that read. Verified tokens are remembered (VerifiedTokens).
    """
    state = request.app.state
    tokens = getattr(state, "records_tokens", None)
    if tokens is None:
        tokens = state.records_tokens = VerifiedTokens()
    if credentials is not None and credentials.scheme.lower() == "bearer":
        known = tokens.get(credentials.credentials)
        if known is not None:
            request.state.principal = known
            return known
    principal = current_principal(request, credentials)
    assert credentials is not None  # current_principal refused a missing token
    tokens.put(credentials.credentials, principal)
    return principal


DataPrincipal = Annotated[Principal, Depends(data_principal)]


class CallerCheck:
    """Whether a caller may pull records (role system, casbin), remembered for ``ttl`` s.

    casbin's RBAC check costs as much as the rest of a pull (it re-parses its matcher on
    every call); the role registry it reads is itself reloaded only every few seconds, so
    remembering its answer per caller for the catalogue's TTL changes nothing visible.
    """

    def __init__(self, authz: Authorizer, *, ttl: float) -> None:
        self._authz = authz
        self._ttl = ttl
        self._memo: dict[tuple[str, str], tuple[float, bool]] = {}

    def allowed(self, principal: Principal) -> bool:
        """Return whether ``principal`` is a department system allowed to read records."""
        if principal.kind != "system":
            return False
        key = (principal.subject, principal.department)
        now = time.monotonic()
        hit = self._memo.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        answer = self._authz.allowed(principal, obj="record", act="read")
        if len(self._memo) >= 4096:
            self._memo = {}
        self._memo[key] = (now, answer)
        return answer


class GrantDecisions:
    """The grant policy's decisions, remembered per policy version and day.

    A decision is a pure function of the policy snapshot (its version), the request and the
    civil date, so one already made for the same inputs is reused: a window system pulls the
    same items for the same purpose for one applicant after another, and casbin (one
    evaluation per item) would otherwise cost more than the rest of the checks together.
    """

    def __init__(self, policy: GrantPolicy, *, size: int = 10_000) -> None:
        self._policy = policy
        self._size = size
        self._memo: dict[tuple[Any, ...], Decision] = {}

    def decide(
        self,
        *,
        system: str | None,
        department: str,
        resource_code: str,
        items: Sequence[str],
        purpose: str,
    ) -> Decision:
        """Return the policy's decision (see ``GrantPolicy.decide``)."""
        today = hub_today()
        asked = (system, department, resource_code, tuple(items), purpose, today)
        key = (*asked, self._policy.version)
        found = self._memo.get(key)
        if found is not None:
            return found
        decision = self._policy.decide(
            system=system,
            department=department,
            resource_code=resource_code,
            items=items,
            purpose=purpose,
            today=today,
        )
        if len(self._memo) >= self._size:
            self._memo = {}
        # Filed under the version it was made against (the snapshot may have moved on).
        self._memo[(*asked, decision.policy_version)] = decision
        return decision
