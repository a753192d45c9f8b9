"""Answering and closing objections: only the provider answers, only the raiser closes.

The provider department's catalog_admin (or a province admin) answers an open objection:
corrected, confirmed correct, or rejected with its reason; any other attempt is a 403 kept
in the history. Whoever raised it closes it: accepting the answer, or withdrawing it while
open. Two answers at once: exactly one wins (row lock on PostgreSQL, row version everywhere).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from exchange.core.db import utcnow
from exchange.core.errors import Conflict, Forbidden, NotFound
from exchange.grants.service import china_today
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.objections import repository as repo
from exchange.objections import rules
from exchange.objections.models import DataObjection
from exchange.objections.schemas import AnswerCreate
from exchange.objections.service import (
    OBJECT,
    DenialRecorder,
    citizen_name,
    load,
    raise_problems,
    record_event,
)


def _locked(session: Session, objection_id: int) -> DataObjection:
    locked = repo.objection_by_id(session, objection_id, for_update=True)
    assert locked is not None
    return locked


def _flush(session: Session, objection_id: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"objection {objection_id} was changed concurrently; reload it",
            message_key="refusal.objections.changed_concurrently",
            message_params={"objection": objection_id},
        ) from exc


def answer(
    session: Session,
    *,
    objection_id: int,
    data: AnswerCreate,
    actor: Principal,
    authz: Authorizer,
    record_denied: DenialRecorder | None = None,
    today: date | None = None,
) -> DataObjection:
    """Answer an open objection as the provider: corrected, confirmed correct or rejected."""
    today = today or china_today()
    provider = load(session, objection_id).provider.code
    if not authz.allowed(actor, obj=OBJECT, act="answer", domain=provider):
        message = (
            f"{actor.subject} may not answer objection {objection_id}: only the provider "
            f"{provider}'s catalog administrators or a province administrator may"
        )
        if record_denied is not None:
            record_denied(objection_id, actor.subject, "answer", message)
        raise Forbidden(
            message,
            message_key="refusal.objections.may_not_answer",
            message_params={
                "actor": actor.subject,
                "objection": objection_id,
                "provider": provider,
            },
        )
    raise_problems(rules.answer_problems(data.answer, data.reason))
    objection = _locked(session, objection_id)
    if objection.status != rules.OPEN:
        by = f" ({objection.answer} by {objection.answered_by})" if objection.answer else ""
        raise Conflict(
            f"objection {objection_id} is {objection.status}{by}, not open",
            objection_status=objection.status,
            message_key="refusal.objections.not_open",
            message_params={"objection": objection_id},
        )
    late = rules.working_days_overdue(objection.status, objection.due_on, today)
    objection.status, objection.answer = rules.ANSWERED, data.answer
    objection.answer_reason = data.reason
    objection.answered_by, objection.answered_at = actor.subject, utcnow()
    record_event(
        session,
        objection,
        actor.subject,
        "answered",
        data.reason,
        answer=data.answer,
        late=late is not None,
        working_days_late=late,
    )
    _flush(session, objection_id)
    return objection


def close(
    session: Session, *, objection: DataObjection, closer: str, reason: str | None
) -> DataObjection:
    """Close an objection (the caller has checked who may): accept an answer or withdraw."""
    objection_id = objection.id
    locked = _locked(session, objection_id)
    if locked.status == rules.CLOSED:
        raise Conflict(
            f"objection {objection_id} is already closed",
            objection_status="closed",
            message_key="refusal.objections.already_closed",
            message_params={"objection": objection_id},
        )
    action = "withdrawn" if locked.status == rules.OPEN else "closed"
    locked.status, locked.closed_by, locked.closed_at = rules.CLOSED, closer, utcnow()
    record_event(session, locked, closer, action, reason)
    _flush(session, objection_id)
    return locked


def close_for_department(
    session: Session,
    *,
    objection_id: int,
    reason: str | None,
    actor: Principal,
    authz: Authorizer,
) -> DataObjection:
    """Close an objection the caller's department raised (or any, as a province admin)."""
    objection = load(session, objection_id)
    raiser = objection.raiser_department.code if objection.raiser_department else None
    may = actor.has_role("province_admin") or (
        raiser is not None and authz.allowed(actor, obj=OBJECT, act="raise", domain=raiser)
    )
    if not may:
        raise Forbidden(
            f"{actor.subject} may not close objection {objection_id}: only its raiser may",
            message_key="refusal.objections.may_not_close",
            message_params={"actor": actor.subject, "objection": objection_id},
        )
    return close(session, objection=objection, closer=actor.subject, reason=reason)


def close_for_citizen(
    session: Session, *, objection_id: int, id_number: str, reason: str | None
) -> DataObjection:
    """Close a citizen's own objection (else 404)."""
    objection = repo.objection_by_id(session, objection_id)
    if objection is None or objection.source != "tracker" or objection.subject_key != id_number:
        raise NotFound(
            f"no objection {objection_id} of yours",
            message_key="refusal.objections.no_objection_of_yours",
            message_params={"objection": objection_id},
        )
    return close(session, objection=objection, closer=citizen_name(id_number), reason=reason)
