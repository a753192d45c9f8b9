"""The back office (并联办理): the departments' decisions, the window's resubmit / withdraw.

Each department decides its own part (task) of an application in review: all parts
approved complete the application, a rejection returns it to the window department, which
may resubmit it (its rejected parts reopen, ``parts.open_parts``) or withdraw it. Every
change is one event of the application's history (``parts.record_event``), and a refused
attempt is recorded in a transaction of its own (``denial_recorder``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from exchange.applications import rules
from exchange.applications.models import Application, ApplicationEvent, ApplicationPart
from exchange.applications.parts import open_parts, record_event
from exchange.core.db import session_scope, utcnow
from exchange.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal

TASK = "task"  # casbin object: read, decide
APPLICATION = "application"  # casbin object: resubmit, withdraw (the window department)
# Records a refused attempt (application id, actor, attempted action, message) in a
# transaction of its own: the request's is rolled back by the 403.
DenialRecorder = Callable[[int, str, str, str], None]


def denial_recorder(factory: sessionmaker[Session]) -> DenialRecorder:
    """Return a recorder that writes each refused attempt in its own short transaction."""

    def record(application_id: int, actor: str, attempted: str, message: str) -> None:
        with session_scope(factory) as side:
            side.add(
                ApplicationEvent(
                    application_id=application_id,
                    actor=actor,
                    action="denied_attempt",
                    reason=message,
                    detail={"attempted": attempted},
                )
            )

    return record


def part_by_id(session: Session, part_id: int) -> ApplicationPart | None:
    """Return the part with ``part_id``, if any."""
    return session.get(ApplicationPart, part_id)


def application_by_number(session: Session, number: str) -> Application | None:
    """Return the application with ``number``, if any."""
    return session.scalars(select(Application).where(Application.number == number)).first()


def list_parts(
    session: Session,
    *,
    department: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[ApplicationPart, Application]], int]:
    """Return one page of parts (with their applications), oldest first, and the total."""
    query = select(ApplicationPart, Application).join(
        Application, Application.id == ApplicationPart.application_id
    )
    if department is not None:
        query = query.where(ApplicationPart.department == department)
    if status is not None:
        query = query.where(ApplicationPart.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(ApplicationPart.created_at, ApplicationPart.id).offset(offset).limit(limit)
    )
    return [(part, app) for part, app in rows], total


def _flush(session: Session, number: str) -> None:
    # Every change bumps the application's row_version: of two changes at once, the one
    # that flushes second matches no row (StaleDataError) and gets the 409.
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"application {number} was changed concurrently; reload it") from exc


def _refuse(
    application: Application,
    actor: Principal,
    attempted: str,
    message: str,
    record_denied: DenialRecorder | None,
) -> Forbidden:
    if record_denied is not None:
        record_denied(application.id, actor.subject, attempted, message)
    return Forbidden(message)


def decide(
    session: Session,
    *,
    part_id: int,
    decision: str,
    reason: str | None,
    actor: Principal,
    authz: Authorizer,
    record_denied: DenialRecorder | None = None,
) -> ApplicationPart:
    """Approve or reject a pending part of an application in review (its department only).

    All parts approved → the application completes; a rejection returns it to the window.
    """
    part = part_by_id(session, part_id)
    if part is None:
        raise NotFound(f"no task {part_id}")
    application = session.get_one(Application, part.application_id)
    attempted = f"decide task {part_id}: {decision}"
    if actor.department != part.department or not authz.allowed(
        actor, obj=TASK, act="decide", domain=part.department
    ):
        message = (
            f"{actor.subject} of {actor.department} may not decide task {part_id} "
            f"of department {part.department}"
        )
        raise _refuse(application, actor, attempted, message, record_denied)
    target = rules.DECISIONS.get(decision)
    if target is None:
        problem = {"field": "decision", "message": "decision must be approve or reject"}
        raise InvalidInput(problem["message"], errors=[problem])
    reason = (reason or "").strip() or None
    if target == rules.PART_REJECTED and reason is None:
        problem = {"field": "reason", "message": "a rejection needs a reason"}
        raise InvalidInput(problem["message"], errors=[problem])
    if application.status != rules.IN_REVIEW:
        raise Conflict(
            f"application {application.number} is {application.status}; "
            "its parts are decided only while in_review",
            current_status=application.status,
        )
    if part.status != rules.PART_PENDING:
        raise Conflict(
            f"task {part_id} was already {part.status} by {part.decided_by}",
            current_status=part.status,
        )
    now = utcnow()
    part.status, part.reason = target, reason
    part.decided_by, part.decided_at = actor.subject, now
    application.updated_at = now  # always bump the application's row_version
    record_event(
        session,
        application,
        actor=actor.subject,
        action=f"part_{target}",
        reason=reason,
        part_id=part.id,
        department=part.department,
        service_item=part.service_item,
    )
    if target == rules.PART_REJECTED:
        _move(session, application, rules.RETURNED, actor=actor.subject, reason=reason)
    elif all(p.status == rules.PART_APPROVED for p in application.parts):
        application.completed_at = now
        _move(session, application, rules.COMPLETED, actor=actor.subject)
    _flush(session, application.number)
    return part


def _move(
    session: Session,
    application: Application,
    target: str,
    *,
    actor: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    rules.check_transition(application.status, target, number=application.number)
    previous, application.status = application.status, target
    action = {
        rules.COMPLETED: "completed",
        rules.RETURNED: "returned",
        rules.IN_REVIEW: "resubmitted",
        rules.WITHDRAWN: "withdrawn",
    }[target]
    record_event(
        session,
        application,
        actor=actor,
        action=action,
        from_status=previous,
        to_status=target,
        reason=reason,
        **detail,
    )


def _window_application(
    session: Session,
    *,
    number: str,
    act: str,
    actor: Principal,
    authz: Authorizer,
    record_denied: DenialRecorder | None,
) -> Application:
    application = application_by_number(session, number)
    if application is None:
        raise NotFound(f"no application {number}")
    window = application.window_department
    if actor.department != window or not authz.allowed(
        actor, obj=APPLICATION, act=act, domain=window
    ):
        message = (
            f"{actor.subject} of {actor.department} may not {act} application {number}: "
            f"only its window department {window} may"
        )
        raise _refuse(application, actor, f"{act} application", message, record_denied)
    return application


def resubmit(
    session: Session,
    *,
    number: str,
    applicant_visited: bool,
    actor: Principal,
    authz: Authorizer,
    record_denied: DenialRecorder | None = None,
) -> Application:
    """Send a returned application back to review; its rejected parts reopen as pending.

    ``applicant_visited``: the applicant came to the window again (one more visit).
    """
    application = _window_application(
        session,
        number=number,
        act="resubmit",
        actor=actor,
        authz=authz,
        record_denied=record_denied,
    )
    rules.check_transition(application.status, rules.IN_REVIEW, number=number)
    if applicant_visited:
        application.visits += 1
    application.updated_at = utcnow()
    _move(
        session,
        application,
        rules.IN_REVIEW,
        actor=actor.subject,
        applicant_visited=applicant_visited,
        visits=application.visits,
    )
    open_parts(session, application, actor=actor.subject)
    _flush(session, number)
    return application


def withdraw(
    session: Session,
    *,
    number: str,
    reason: str | None,
    actor: Principal,
    authz: Authorizer,
    record_denied: DenialRecorder | None = None,
) -> Application:
    """Withdraw an application (accepted, in review or returned) for the window department."""
    application = _window_application(
        session,
        number=number,
        act="withdraw",
        actor=actor,
        authz=authz,
        record_denied=record_denied,
    )
    application.updated_at = utcnow()
    _move(session, application, rules.WITHDRAWN, actor=actor.subject, reason=reason)
    _flush(session, number)
    return application
