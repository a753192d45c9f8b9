"""The sweep: record expiries and lapses, escalate overdue requests (``datarun grants sweep``).

Decisions never wait for it: every check compares dates itself. The sweep makes the history
and the lists say so, and bumps the policy version so enforcers drop the ended rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.grants import repository as repo
from exchange.grants import rules
from exchange.grants.policy import bump_policy_version
from exchange.grants.service import china_today, record_event


@dataclass
class SweepResult:
    """Which grants a sweep expired, lapsed and escalated."""

    expired: list[int] = field(default_factory=list)
    lapsed: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def sweep(session: Session, *, today: date | None = None) -> SweepResult:
    """Record expiries and lapses, and escalate overdue requests to the province admin."""
    today = today or china_today()
    result = SweepResult()
    now = utcnow()
    for grant in repo.to_expire(session, today):
        grant.status, grant.ended_at = rules.EXPIRED, now
        record_event(
            session, grant, rules.SWEEP_ACTOR, "expired", f"the period ended on {grant.ends_on}"
        )
        result.expired.append(grant.id)
    session.flush()
    for grant in repo.to_lapse(session, today):
        grant.status, grant.ended_at = rules.LAPSED, now
        due = rules.recertify_by(grant.certified_on)
        record_event(
            session,
            grant,
            rules.SWEEP_ACTOR,
            "lapsed",
            f"not re-certified (复核) since {grant.certified_on}; due by {due}",
        )
        result.lapsed.append(grant.id)
    for grant in repo.to_escalate(session, today):
        grant.escalated_at = now
        overdue = rules.working_days_overdue(grant.status, grant.due_on, today)
        record_event(
            session,
            grant,
            rules.SWEEP_ACTOR,
            "escalated",
            f"pending past its due date {grant.due_on}: escalated to the province admin",
            due_on=str(grant.due_on),
            working_days_overdue=overdue,
        )
        result.escalated.append(grant.id)
    session.flush()
    if result.expired or result.lapsed:
        bump_policy_version(session)
    return result
