"""The grant lifecycle (共享权限): requesting, and the helpers every change shares.

Deciding is in ``decisions`` and the date-driven sweep in ``sweep``.

Every change is a ``GrantEvent`` (who, when, what, why) in the same transaction, and every
change that alters access decisions bumps the policy version in that transaction too.
``actor``/``authz`` None means a trusted operator context (CLI): no permission check, and
events name the actor "operator". ``today`` is a civil date in China (UTC+8).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from catalogs.resources.service import can_see
from exchange.core.db import session_scope, utcnow
from exchange.core.errors import Conflict, Forbidden, InvalidInput
from exchange.core.settings import Settings
from exchange.grants import repository as repo
from exchange.grants import rules
from exchange.grants.models import Grant, GrantEvent
from exchange.grants.policy import bump_policy_version
from exchange.grants.schemas import GrantCreate
from exchange.grants.workdays import add_working_days
from exchange.identity.authz import Authorizer
from exchange.identity.models import System
from exchange.identity.principal import Principal

OPERATOR = "operator"
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

# Records a refused attempt on a grant (grant id, actor, attempted action, message) in a
# transaction of its own: the request's transaction is rolled back by the 403.
DenialRecorder = Callable[[int, str, str, str], None]


def china_today() -> date:
    """Return today's civil date in China."""
    return datetime.now(CHINA).date()


def denial_recorder(factory: sessionmaker[Session]) -> DenialRecorder:
    """Return a recorder that writes each denied attempt in its own short transaction."""

    def record(grant_id: int, actor: str, attempted: str, message: str) -> None:
        with session_scope(factory) as side:
            side.add(
                GrantEvent(
                    grant_id=grant_id,
                    actor=actor,
                    action="denied_attempt",
                    reason=message,
                    detail={"attempted": attempted},
                )
            )

    return record


def actor_name(actor: Principal | None) -> str:
    """Return the name the history gives ``actor`` ("operator" for the CLI)."""
    return actor.subject if actor else OPERATOR


def record_event(
    session: Session,
    grant: Grant,
    actor: str,
    action: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    """Add one event to a grant's history, in the caller's transaction."""
    session.add(
        GrantEvent(grant_id=grant.id, actor=actor, action=action, reason=reason, detail=detail)
    )


def flush_or_conflict(session: Session, grant_id: int) -> None:
    """Flush; a grant changed meanwhile by someone else is a 409 (exactly one wins)."""
    try:
        session.flush()
    except StaleDataError as exc:
        # Someone else changed the grant since it was read (two admins at once): one wins.
        raise Conflict(
            f"grant {grant_id} was changed concurrently; reload it",
            message_key="refusal.grants.changed_concurrently",
            message_params={"grant": grant_id},
        ) from exc


def raise_problems(problems: list[dict[str, Any]]) -> None:
    """Raise one 422 naming every problem, if there is any."""
    if problems:
        detail = "; ".join(p["message"] for p in problems)
        raise InvalidInput(
            detail,
            errors=problems,
            message_key="refusal.grants.invalid_input",
            message_params={"problems": detail},
        )


# --- requesting -------------------------------------------------------------------------


def check_requester(
    session: Session,
    *,
    actor: Principal | None,
    authz: Authorizer | None,
    consumer: str,
    consumer_system: str | None,
) -> System | None:
    """Check who may request for ``consumer``; return the consumer system named or implied.

    The consumer's catalog_admin or a province_admin may request for the department or one of
    its systems; a system requests for itself only.
    """
    system = None
    if consumer_system is not None:
        system = repo.system_by_client_id(session, consumer_system)
        if system is None:
            raise_problems([rules.problem("consumer_system", f"no system {consumer_system}")])
    if authz is None or actor is None:
        return _owned(system, consumer)
    authz.require(actor, obj="grant", act="request", domain=consumer)
    if actor.kind == "system":
        own = actor.client_id or actor.subject
        if consumer_system is not None and consumer_system != own:
            raise Forbidden(
                f"system {own} may request only on its own behalf",
                message_key="refusal.grants.system_requests_for_itself",
                message_params={"system": own},
            )
        system = repo.system_by_client_id(session, own)
        if system is None:
            raise Forbidden(
                f"system {own} is not registered",
                message_key="refusal.grants.system_not_registered",
                message_params={"system": own},
            )
    return _owned(system, consumer)


def _owned(system: System | None, consumer: str) -> System | None:
    if system is not None and system.department.code != consumer:
        raise_problems(
            [
                rules.problem(
                    "consumer_system",
                    f"system {system.client_id} belongs to {system.department.code}, "
                    f"not to the consumer {consumer}",
                )
            ]
        )
    return system


def request_grant(
    session: Session,
    *,
    data: GrantCreate,
    actor: Principal | None,
    authz: Authorizer | None,
    settings: Settings,
    today: date | None = None,
) -> Grant:
    """File a grant request; the resource's sharing type decides what happens at once."""
    today = today or china_today()
    consumer_code = data.consumer or (actor.department if actor else None)
    consumer = repo.department_by_code(session, consumer_code) if consumer_code else None
    if consumer is None:
        raise_problems([rules.problem("consumer", f"no department {consumer_code}")])
    assert consumer is not None
    system = check_requester(
        session,
        actor=actor,
        authz=authz,
        consumer=consumer.code,
        consumer_system=data.consumer_system,
    )
    resource = repo.resource_by_code(session, data.resource)
    if resource is None or not can_see(actor, resource):  # never leak a draft
        raise_problems([rules.problem("resource", f"no resource {data.resource} in the catalogue")])
    assert resource is not None
    problems: list[dict[str, Any]] = []
    if resource.status != "published":
        problems.append(
            rules.problem(
                "resource",
                f"resource {resource.code} is {resource.status}; "
                "only published resources can be requested",
            )
        )
    item_codes = [item.code for item in resource.items]
    missing = rules.unknown(data.items, item_codes)
    if missing:
        names = ", ".join(code for _, code in missing)
        problems.append(rules.problem("items", f"resource {resource.code} has no item(s) {names}"))
        problems += [rules.problem(f"items[{i}]", f"no item {c}") for i, c in missing]
    problems += [
        rules.problem(f"items[{i}]", f"{c} is listed twice")
        for i, c in rules.duplicates(data.items)
    ]
    known = repo.known_purposes(session, data.purposes)
    problems += [
        rules.problem(f"purposes[{i}]", f"{c} is neither a service item nor a one-thing")
        for i, c in rules.unknown(data.purposes, known)
    ]
    problems += [
        rules.problem(f"purposes[{i}]", f"{c} is listed twice")
        for i, c in rules.duplicates(data.purposes)
    ]
    default_start, default_end = rules.default_period(data.starts_on or today)
    starts_on, ends_on = data.starts_on or default_start, data.ends_on or default_end
    problems += rules.period_problems(
        starts_on, ends_on, today=today, max_years=settings.grant_max_years
    )
    raise_problems(problems)
    _refuse_duplicate(session, consumer.id, system, resource.id, data.purposes)

    grant = Grant(
        consumer_department=consumer,
        consumer_system=system,
        resource=resource,
        items=list(data.items),
        purposes=list(data.purposes),
        masked=data.masked,
        starts_on=starts_on,
        ends_on=ends_on,
        need=data.need,
        status=rules.PENDING,
        requested_by=actor_name(actor),
    )
    session.add(grant)
    session.flush()
    record_event(
        session,
        grant,
        actor_name(actor),
        "requested",
        data.need,
        consumer=consumer.code,
        consumer_system=system.client_id if system else None,
        items=grant.items,
        purposes=grant.purposes,
        masked=grant.masked,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
    )
    _decide_by_rule(session, grant, resource.share_type, resource.legal_basis, today, settings)
    flush_or_conflict(session, grant.id)
    return grant


def _refuse_duplicate(
    session: Session,
    department_id: int,
    system: System | None,
    resource_id: int,
    purposes: list[str],
) -> None:
    pending = repo.consumer_grants(
        session, department_id=department_id, resource_id=resource_id, statuses=[rules.PENDING]
    )
    for other in pending:
        same_system = other.consumer_system_id == (system.id if system else None)
        if same_system and set(other.purposes) & set(purposes):
            raise Conflict(
                f"request {other.id} for this resource and purpose is already pending",
                grant_id=other.id,
                message_key="refusal.grants.duplicate_pending",
                message_params={"grant": other.id},
            )


def _decide_by_rule(
    session: Session,
    grant: Grant,
    share_type: str,
    legal_basis: str | None,
    today: date,
    settings: Settings,
) -> None:
    outcome = rules.outcome_by_rule(share_type)
    if outcome == rules.APPROVED:  # 无条件共享
        grant.status = rules.APPROVED
        grant.decided_by, grant.decided_at = rules.BY_RULE_UNCONDITIONAL, utcnow()
        grant.decision_reason = "无条件共享: approved at once by rule"
        grant.certified_on = today
        record_event(
            session,
            grant,
            rules.BY_RULE_UNCONDITIONAL,
            "auto_approved",
            grant.decision_reason,
            items=grant.items,
        )
        bump_policy_version(session)
    elif outcome == rules.REFUSED:  # 不予共享
        grant.status = rules.REFUSED
        grant.decided_by, grant.decided_at = rules.BY_RULE_NOT_SHARED, utcnow()
        grant.decision_reason = rules.not_shared_reason(legal_basis)
        record_event(
            session,
            grant,
            rules.BY_RULE_NOT_SHARED,
            "refused_by_rule",
            grant.decision_reason,
            legal_basis=legal_basis,
        )
    else:  # 有条件共享: the provider decides within the working-day clock
        grant.due_on = add_working_days(today, settings.grant_due_working_days)
