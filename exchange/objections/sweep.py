"""The sweep: flag open objections past their deadline to the province admin.

Lists and reads never wait for it: ``overdue`` is computed from the date every time. The
sweep makes it part of the history (an ``escalated`` event, once per objection) and sets
``escalated_at``, which the province admin's list filters on (``escalated=true``).
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.grants.service import china_today
from exchange.objections import repository as repo
from exchange.objections import rules
from exchange.objections.service import record_event

log = logging.getLogger("datarun.objections")


def sweep(session: Session, *, today: date | None = None) -> list[int]:
    """Escalate every open objection past its due date; return their ids."""
    today = today or china_today()
    now = utcnow()
    escalated = []
    for objection in repo.to_escalate(session, today):
        objection.escalated_at = now
        overdue = rules.working_days_overdue(objection.status, objection.due_on, today)
        record_event(
            session,
            objection,
            rules.SWEEP_ACTOR,
            "escalated",
            f"unanswered past its due date {objection.due_on}: escalated to the province admin",
            due_on=objection.due_on.isoformat(),
            working_days_overdue=overdue,
            provider=objection.provider.code,
        )
        log.warning(
            "objection %s to %s (provider %s) is overdue since %s: escalated",
            objection.id,
            objection.resource.code,
            objection.provider.code,
            objection.due_on,
        )
        escalated.append(objection.id)
    session.flush()
    return escalated
