"""Deciding on grants: approve (possibly narrowing), refuse, revoke, re-certify (复核).

Only the provider department's administrators (or a province admin) decide; any other
attempt is a 403 that stays in the grant's history. Two deciders at once: exactly one wins
(row lock on PostgreSQL, optimistic row version everywhere).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.core.errors import Conflict, Forbidden, NotFound
from exchange.grants import repository as repo
from exchange.grants import rules
from exchange.grants.models import Grant
from exchange.grants.policy import bump_policy_version
from exchange.grants.schemas import Approval
from exchange.grants.service import (
    DenialRecorder,
    actor_name,
    china_today,
    flush_or_conflict,
    raise_problems,
    record_event,
)
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal


def _load(session: Session, grant_id: int) -> Grant:
    grant = repo.grant_by_id(session, grant_id)
    if grant is None:
        raise NotFound(
            f"no grant {grant_id}",
            message_key="refusal.grants.no_grant",
            message_params={"grant": grant_id},
        )
    return grant


# The console's words for a refused decision, by the decision attempted.
_MAY_NOT = {
    "approve": "refusal.grants.may_not_approve",
    "refuse": "refusal.grants.may_not_refuse",
    "revoke": "refusal.grants.may_not_revoke",
    "recertify": "refusal.grants.may_not_recertify",
}


def _decidable(
    session: Session,
    grant_id: int,
    attempted: str,
    actor: Principal | None,
    authz: Authorizer | None,
    record_denied: DenialRecorder | None,
) -> Grant:
    """Check that ``actor`` may decide on the grant, then lock it and return it re-read."""
    grant = _load(session, grant_id)
    provider = grant.resource.provider.code
    if actor is not None and not _may_decide(actor, authz, provider):
        message = (
            f"{actor.subject} may not {attempted} grant {grant_id}: only the provider "
            f"{provider}'s administrators or a province administrator may"
        )
        if record_denied is not None:
            record_denied(grant_id, actor.subject, attempted, message)
        raise Forbidden(
            message,
            message_key=_MAY_NOT.get(attempted),
            message_params={"actor": actor.subject, "grant": grant_id, "provider": provider},
        )
    locked = repo.grant_by_id(session, grant_id, for_update=True)
    assert locked is not None
    return locked


def _may_decide(actor: Principal, authz: Authorizer | None, provider: str) -> bool:
    return authz is None or authz.allowed(actor, obj="grant", act="write", domain=provider)


def _not_shared(grant: Grant) -> None:
    if grant.resource.share_type == "none":
        raise Conflict(
            f"resource {grant.resource.code} is 不予共享 (not shared): no grant can be made; "
            f"legal basis: {grant.resource.legal_basis or 'none cited'}",
            share_type="none",
            message_key=(
                "refusal.grants.not_shared"
                if grant.resource.legal_basis
                else "refusal.grants.not_shared_no_legal_basis"
            ),
            message_params=(
                {"code": grant.resource.code, "legal_basis": grant.resource.legal_basis}
                if grant.resource.legal_basis
                else {"code": grant.resource.code}
            ),
        )


def _must_be(grant: Grant, wanted: str, today: date) -> None:
    now = _status(grant, today)
    if now != wanted:
        by = f" by {grant.decided_by}" if grant.decided_by and now != rules.PENDING else ""
        raise Conflict(
            f"grant {grant.id} is {now}{by}, not {wanted}",
            grant_status=now,
            message_key=(
                "refusal.grants.not_pending"
                if wanted == rules.PENDING
                else "refusal.grants.not_approved"
            ),
            message_params={"grant": grant.id},
        )


def _status(grant: Grant, today: date) -> str:
    return rules.effective_status(
        grant.status, ends_on=grant.ends_on, certified_on=grant.certified_on, today=today
    )


def approve(
    session: Session,
    *,
    grant_id: int,
    data: Approval,
    actor: Principal | None,
    authz: Authorizer | None,
    record_denied: DenialRecorder | None = None,
    today: date | None = None,
) -> Grant:
    """Approve a pending request, possibly narrowing its items or its period."""
    today = today or china_today()
    grant = _decidable(session, grant_id, "approve", actor, authz, record_denied)
    _not_shared(grant)
    _must_be(grant, rules.PENDING, today)
    if grant.resource.status != "published":
        raise Conflict(
            f"resource {grant.resource.code} is {grant.resource.status}, not published",
            message_key="refusal.grants.resource_not_published",
            message_params={"code": grant.resource.code},
        )
    raise_problems(
        rules.narrowing_problems(
            requested_items=grant.items,
            requested_start=grant.starts_on,
            requested_end=grant.ends_on,
            items=data.items,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
        )
    )
    items = list(data.items) if data.items is not None else list(grant.items)
    starts_on, ends_on = data.starts_on or grant.starts_on, data.ends_on or grant.ends_on
    if ends_on < today:
        raise Conflict(
            f"the period ends on {ends_on}, already past: request anew",
            message_key="refusal.grants.period_past",
            message_params={"ends_on": str(ends_on)},
        )
    narrowed: dict[str, Any] = {}
    if items != grant.items:
        narrowed["items"] = {"requested": grant.items, "granted": items}
    if (starts_on, ends_on) != (grant.starts_on, grant.ends_on):
        narrowed["period"] = {
            "requested": [grant.starts_on.isoformat(), grant.ends_on.isoformat()],
            "granted": [starts_on.isoformat(), ends_on.isoformat()],
        }
    grant.items, grant.starts_on, grant.ends_on = items, starts_on, ends_on
    grant.status = rules.APPROVED
    grant.decided_by, grant.decided_at = actor_name(actor), utcnow()
    grant.decision_reason = data.reason
    grant.certified_on = today
    record_event(
        session,
        grant,
        actor_name(actor),
        "approved",
        data.reason,
        items=items,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
        narrowed=narrowed or None,
    )
    flush_or_conflict(session, grant_id)
    bump_policy_version(session)
    return grant


def refuse(
    session: Session,
    *,
    grant_id: int,
    reason: str,
    actor: Principal | None,
    authz: Authorizer | None,
    record_denied: DenialRecorder | None = None,
    today: date | None = None,
) -> Grant:
    """Refuse a pending request, with the reason the consumer will read."""
    today = today or china_today()
    if not reason.strip():
        raise_problems([rules.problem("reason", "a refusal states its reason")])
    grant = _decidable(session, grant_id, "refuse", actor, authz, record_denied)
    _must_be(grant, rules.PENDING, today)
    grant.status = rules.REFUSED
    grant.decided_by, grant.decided_at = actor_name(actor), utcnow()
    grant.decision_reason = reason
    record_event(session, grant, actor_name(actor), "refused", reason)
    flush_or_conflict(session, grant_id)
    return grant


def revoke(
    session: Session,
    *,
    grant_id: int,
    reason: str,
    actor: Principal | None,
    authz: Authorizer | None,
    record_denied: DenialRecorder | None = None,
    today: date | None = None,
) -> Grant:
    """Revoke an approved grant at once, with a reason."""
    today = today or china_today()
    if not reason.strip():
        raise_problems([rules.problem("reason", "a revocation states its reason")])
    grant = _decidable(session, grant_id, "revoke", actor, authz, record_denied)
    _must_be(grant, rules.APPROVED, today)
    grant.status = rules.REVOKED
    grant.ended_at = utcnow()
    record_event(session, grant, actor_name(actor), "revoked", reason)
    flush_or_conflict(session, grant_id)
    bump_policy_version(session)
    return grant


def recertify(
    session: Session,
    *,
    grant_id: int,
    actor: Principal | None,
    authz: Authorizer | None,
    reason: str | None = None,
    record_denied: DenialRecorder | None = None,
    today: date | None = None,
) -> Grant:
    """Re-certify (复核) an approved grant: it stays in force for another year."""
    today = today or china_today()
    grant = _decidable(session, grant_id, "recertify", actor, authz, record_denied)
    _must_be(grant, rules.APPROVED, today)
    previous = grant.certified_on
    grant.certified_on = today
    record_event(
        session,
        grant,
        actor_name(actor),
        "recertified",
        reason,
        previous=previous.isoformat() if previous else None,
        recertify_by=str(rules.recertify_by(today)),
    )
    flush_or_conflict(session, grant_id)
    bump_policy_version(session)
    return grant
