"""The objection lifecycle (数据异议/纠错): raise, answer, close; every change is an event.

Three ways in, one function underneath (``open_objection``): a citizen from an access-log
entry about them (the tracker), a department system or administrator against a record
(``POST /v1/objections``), and the hub's own conflict detection (issue 6), which calls
``open_objection`` directly. Answering and closing are in ``decisions``; the provider
answers by the deadline of N working days, and ``sweep`` escalates the late ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from exchange.core.db import session_scope
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.settings import Settings
from exchange.grants.service import china_today
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.objections import repository as repo
from exchange.objections import rules
from exchange.objections.models import DataObjection, ObjectionEvent
from exchange.objections.schemas import ObjectionCreate

OBJECT = "objection"  # casbin object: read, raise, answer
# Records a refused attempt (objection id, actor, attempted action, message) in a transaction
# of its own: the request's is rolled back by the 403.
DenialRecorder = Callable[[int, str, str, str], None]


def record_event(
    session: Session,
    objection: DataObjection,
    actor: str,
    action: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    """Add one event to an objection's history, in the caller's transaction."""
    session.add(
        ObjectionEvent(
            objection_id=objection.id, actor=actor, action=action, reason=reason, detail=detail
        )
    )


def denial_recorder(factory: sessionmaker[Session]) -> DenialRecorder:
    """Return a recorder that writes each refused attempt in its own short transaction."""

    def record(objection_id: int, actor: str, attempted: str, message: str) -> None:
        with session_scope(factory) as side:
            side.add(
                ObjectionEvent(
                    objection_id=objection_id,
                    actor=actor,
                    action="denied_attempt",
                    reason=message,
                    detail={"attempted": attempted},
                )
            )

    return record


def raise_problems(problems: list[dict[str, Any]]) -> None:
    """Raise one 422 naming every problem, if there is any."""
    if problems:
        detail = "; ".join(p["message"] for p in problems)
        raise InvalidInput(
            detail,
            errors=problems,
            message_key="refusal.objections.invalid_input",
            message_params={"problems": detail},
        )


def citizen_name(id_number: str) -> str:
    """Return how the history names a citizen: ``citizen:`` and the masked resident ID."""
    return f"citizen:{rules.mask_id(id_number)}"


def open_objection(
    session: Session,
    *,
    resource_code: str,
    subject_key: str,
    items: Sequence[str],
    description: str,
    raised_by: str,
    settings: Settings,
    source: str = "conflict",
    raiser_department: str | None = None,
    key_item: str | None = None,
    proposed_correction: Mapping[str, Any] | None = None,
    case_id: str | None = None,
    audit_seq: int | None = None,
    today: date | None = None,
    reuse_open: bool = False,
) -> DataObjection:
    """Open an objection to items of one record; the provider must answer in N working days.

    ``raised_by`` is the name the history shows (a principal's subject, ``citizen:…`` or e.g.
    ``hub:conflicts``); ``raiser_department`` (a department code) lets that department list
    and close it. An open objection by the same raiser to the same record and an item in
    common is a 409 naming it, or, with ``reuse_open``, is returned instead.
    """
    if source not in rules.SOURCES:
        raise ValueError(f"source must be one of {rules.SOURCES}")
    today = today or china_today()
    resource = repo.resource_by_code(session, resource_code)
    if resource is None or resource.status == "draft":
        raise_problems(
            [rules.problem("resource_code", f"no resource {resource_code} in the catalogue")]
        )
    assert resource is not None
    items = list(items)
    problems = rules.item_problems(items, [i.code for i in resource.items], resource.code)
    chosen, found = rules.choose_key_item([i.code for i in resource.items if i.is_key], key_item)
    if found:
        problems.append(rules.problem("key_item", found))
    else:
        found = rules.key_problem(chosen, subject_key)
        if found:
            problems.append(rules.problem("key", found))
    problems += rules.correction_problems(proposed_correction, items)
    if not description.strip():
        problems.append(rules.problem("description", "say what is wrong"))
    department = None
    if raiser_department is not None:
        department = repo.department_by_code(session, raiser_department)
        if department is None:
            missing = f"no department {raiser_department}"
            problems.append(rules.problem("raiser_department", missing))
    raise_problems(problems)
    existing = repo.open_duplicate(
        session, resource_id=resource.id, subject_key=subject_key, raised_by=raised_by, items=items
    )
    if existing is not None:
        if reuse_open:
            return existing
        raise Conflict(
            f"objection {existing.id} by {raised_by} to this record is still open",
            objection_id=existing.id,
            message_key="refusal.objections.duplicate_open",
            message_params={"objection": existing.id, "raised_by": raised_by},
        )
    objection = DataObjection(
        resource=resource,
        provider=resource.provider,
        subject_key=subject_key,
        key_item=chosen,
        items=items,
        description=description.strip(),
        proposed_correction=dict(proposed_correction) if proposed_correction else None,
        source=source,
        raised_by=raised_by,
        raiser_department=department,
        case_id=case_id,
        audit_seq=audit_seq,
        status=rules.OPEN,
        due_on=rules.due_on(today, settings.objection_due_working_days),
    )
    session.add(objection)
    session.flush()
    record_event(
        session,
        objection,
        raised_by,
        "raised",
        objection.description,
        source=source,
        items=items,
        due_on=objection.due_on.isoformat(),
        case_id=case_id,
        audit_seq=audit_seq,
    )
    session.flush()
    return objection


def raise_for_department(
    session: Session,
    *,
    data: ObjectionCreate,
    actor: Principal,
    authz: Authorizer,
    settings: Settings,
    today: date | None = None,
) -> DataObjection:
    """Raise a department system's or administrator's objection against a record."""
    authz.require(actor, obj=OBJECT, act="raise")
    if data.audit_seq is not None:
        entry = repo.audit_entry(session, data.audit_seq)
        if (
            entry is None
            or entry.department != actor.department
            or entry.resource_code != data.resource_code
            or entry.subject_key != data.key
        ):
            raise_problems(
                [
                    rules.problem(
                        "audit_seq",
                        f"entry {data.audit_seq} is not your department's access to this record",
                    )
                ]
            )
    return open_objection(
        session,
        resource_code=data.resource_code,
        subject_key=data.key,
        key_item=data.key_item,
        items=data.items,
        description=data.description,
        proposed_correction=data.proposed_correction,
        case_id=data.case_id,
        audit_seq=data.audit_seq,
        raised_by=actor.subject,
        raiser_department=actor.department,
        source="department",
        settings=settings,
        today=today,
    )


def raise_for_citizen(
    session: Session,
    *,
    id_number: str,
    seq: int,
    items: Sequence[str],
    description: str,
    proposed_correction: Mapping[str, Any] | None,
    settings: Settings,
    today: date | None = None,
) -> DataObjection:
    """Raise a citizen's objection from an access entry about them (else 404)."""
    entry = repo.audit_entry(session, seq)
    if entry is None or entry.subject_key != id_number:
        raise NotFound(
            f"no access entry {seq} about you",
            message_key="refusal.objections.no_access_entry",
            message_params={"seq": seq},
        )
    if entry.resource_code is None:
        raise_problems([rules.problem("seq", f"entry {seq} names no resource")])
    assert entry.resource_code is not None
    return open_objection(
        session,
        resource_code=entry.resource_code,
        subject_key=id_number,
        items=items,
        description=description,
        proposed_correction=proposed_correction,
        case_id=entry.case_id,
        audit_seq=seq,
        raised_by=citizen_name(id_number),
        source="tracker",
        settings=settings,
        today=today,
    )


def load(session: Session, objection_id: int) -> DataObjection:
    """Return the objection or raise ``NotFound``."""
    objection = repo.objection_by_id(session, objection_id)
    if objection is None:
        raise NotFound(
            f"no objection {objection_id}",
            message_key="refusal.objections.no_objection",
            message_params={"objection": objection_id},
        )
    return objection
