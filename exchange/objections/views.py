"""Reading objections: one with its history, and the lists of providers and raisers.

A department's readers (its systems and catalog_admins) see the objections it provides the
record for or raised; a province admin and an auditor see them all.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from exchange.core.pagination import Page, PageParams
from exchange.core.scoping import list_scope
from exchange.grants.service import china_today
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.identity.scope import require_read
from exchange.objections import repository as repo
from exchange.objections import rules
from exchange.objections.models import DataObjection
from exchange.objections.schemas import ObjectionDetail, ObjectionEventRead, ObjectionRead
from exchange.objections.service import OBJECT, load


def to_read(objection: DataObjection, today: date) -> ObjectionRead:
    """Return the API shape of an objection, overdue as of ``today``."""
    overdue = rules.working_days_overdue(objection.status, objection.due_on, today)
    raiser = objection.raiser_department
    return ObjectionRead(
        id=objection.id,
        resource_code=objection.resource.code,
        resource_name=objection.resource.name,
        provider=objection.provider.code,
        provider_name=objection.provider.name,
        subject_key=objection.subject_key,
        key_item=objection.key_item,
        items=list(objection.items),
        description=objection.description,
        proposed_correction=objection.proposed_correction,
        source=objection.source,
        raised_by=objection.raised_by,
        raiser_department=raiser.code if raiser else None,
        raised_at=objection.raised_at,
        case_id=objection.case_id,
        audit_seq=objection.audit_seq,
        status=objection.status,
        due_on=objection.due_on,
        overdue=overdue is not None,
        working_days_overdue=overdue,
        escalated_at=objection.escalated_at,
        answer=objection.answer,
        answer_reason=objection.answer_reason,
        answered_by=objection.answered_by,
        answered_at=objection.answered_at,
        closed_by=objection.closed_by,
        closed_at=objection.closed_at,
    )


def detail(session: Session, objection: DataObjection, today: date) -> ObjectionDetail:
    """Return an objection with its history."""
    events = [
        ObjectionEventRead.model_validate(e, from_attributes=True)
        for e in repo.events_of(session, objection.id)
    ]
    return ObjectionDetail(**to_read(objection, today).model_dump(), events=events)


def get_objection(
    session: Session,
    *,
    objection_id: int,
    principal: Principal,
    authz: Authorizer,
    today: date | None = None,
) -> ObjectionDetail:
    """Return an objection with its history (its provider's or raiser's readers)."""
    objection = load(session, objection_id)
    departments = [objection.provider.code]
    if objection.raiser_department is not None:
        departments.append(objection.raiser_department.code)
    require_read(principal, authz, OBJECT, "objections", *departments)
    return detail(session, objection, today or china_today())


def list_objections(
    session: Session,
    *,
    principal: Principal,
    authz: Authorizer,
    page: PageParams,
    role: str | None = None,
    department: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    escalated: bool | None = None,
    today: date | None = None,
) -> Page[ObjectionRead]:
    """List objections to answer (provider) or raised (raiser), of the caller's department.

    A province admin or auditor sees every department's unless ``department`` is given.
    """
    today = today or china_today()
    scope = list_scope(
        session,
        principal=principal,
        authz=authz,
        role=role,
        department=department,
        obj=OBJECT,
        what="objections",
    )
    f = repo.ObjectionFilter(
        provider_id=scope.side("provider"),
        raiser_department_id=scope.side("raiser"),
        either_department_id=scope.either,
        # Province-wide "as raiser": what departments raised (not citizens' objections).
        raised_by_department=scope.province_wide("raiser"),
        status=status,
        overdue=overdue,
        escalated=escalated,
    )
    rows, total = repo.list_objections(session, f, today=today, offset=page.offset, limit=page.size)
    return Page[ObjectionRead](
        items=[to_read(o, today) for o in rows], total=total, page=page.page, size=page.size
    )
