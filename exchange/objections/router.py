"""HTTP routes of data objections (数据异议/纠错) for departments and the province.

Citizens raise theirs through the data tracker (``/v1/tracker/objections``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from exchange.core.deps import AppSettings, DbSession
from exchange.core.inputs import Id
from exchange.core.pagination import Page, Pagination
from exchange.grants.schemas import DEPARTMENT_CODE
from exchange.grants.service import china_today
from exchange.identity.deps import Authz, CurrentPrincipal
from exchange.objections import decisions, service, views
from exchange.objections.schemas import (
    AnswerCreate,
    Closing,
    ObjectionCreate,
    ObjectionDetail,
    ObjectionRead,
    Role,
    Status,
)

router = APIRouter(prefix="/v1/objections", tags=["objections"])


def denial_recorder(request: Request) -> service.DenialRecorder:
    """Return the recorder that keeps refused attempts in a transaction of their own."""
    return service.denial_recorder(request.app.state.sessionmaker)


Denials = Annotated[service.DenialRecorder, Depends(denial_recorder)]


@router.post("", status_code=status.HTTP_201_CREATED)
def raise_objection(
    body: ObjectionCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
) -> ObjectionDetail:
    """Raise an objection against items of a record; the provider answers in N working days."""
    objection = service.raise_for_department(
        session, data=body, actor=principal, authz=authz, settings=settings
    )
    return views.detail(session, objection, china_today())


@router.get("")
def list_objections(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    page: Pagination,
    role: Annotated[Role | None, Query(description="to answer (provider) or raised")] = None,
    department: Annotated[
        str | None, Query(pattern=DEPARTMENT_CODE, description="whose (the caller's)")
    ] = None,
    status: Status | None = None,
    overdue: Annotated[bool, Query(description="open past the due date only")] = False,
    escalated: Annotated[bool | None, Query(description="flagged to the province admin")] = None,
) -> Page[ObjectionRead]:
    """List objections as provider or raiser, by status, overdue or escalated, newest first."""
    return views.list_objections(
        session,
        principal=principal,
        authz=authz,
        page=page,
        role=role,
        department=department,
        status=status,
        overdue=overdue,
        escalated=escalated,
    )


@router.get("/{objection_id}")
def get_objection(
    objection_id: Id, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> ObjectionDetail:
    """Show an objection with its history: who did what, when and why."""
    return views.get_objection(session, objection_id=objection_id, principal=principal, authz=authz)


@router.post("/{objection_id}/answer")
def answer_objection(
    objection_id: Id,
    body: AnswerCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> ObjectionDetail:
    """Answer an open objection (the provider's catalog_admin): corrected, confirmed, rejected."""
    objection = decisions.answer(
        session,
        objection_id=objection_id,
        data=body,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return views.detail(session, objection, china_today())


@router.post("/{objection_id}/close")
def close_objection(
    objection_id: Id,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    body: Closing | None = None,
) -> ObjectionDetail:
    """Close an objection your department raised: accept the answer, or withdraw it."""
    objection = decisions.close_for_department(
        session,
        objection_id=objection_id,
        reason=body.reason if body else None,
        actor=principal,
        authz=authz,
    )
    return views.detail(session, objection, china_today())
