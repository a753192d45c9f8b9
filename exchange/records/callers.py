"""Who may pull what: the caller's token and role, and the grant decisions (remembered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from exchange.grants.enforcer import Decision
from exchange.grants.engine import GrantPolicy
from exchange.grants.policy import hub_today
from exchange.identity.authz import Authorizer
from exchange.identity.deps import bearer, current_principal
from exchange.identity.principal import Principal


async def data_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Return ``CurrentPrincipal`` without the thread hop a sync dependency would cost.

    Verification is CPU only and remembered (exchange/identity/token_cache.py).
    """
    return current_principal(request, credentials)


DataPrincipal = Annotated[Principal, Depends(data_principal)]


class CallerCheck:
    """Whether a caller may pull records: a department system with casbin's ``record read``."""

    def __init__(self, authz: Authorizer) -> None:
        self._authz = authz

    def allowed(self, principal: Principal) -> bool:
        """Return whether ``principal`` is a department system allowed to read records."""
        if principal.kind != "system":
            return False
        return self._authz.allowed(principal, obj="record", act="read")


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
