"""HTTP routes of the back office (并联办理): a department's tasks and its decisions.

No personal data crosses these routes: a task names its application by number; the case
file itself is read (and audited) through ``/v1/applications/{number}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from exchange.applications import backoffice
from exchange.applications.models import Application, ApplicationPart
from exchange.core.deps import DbSession
from exchange.core.inputs import Id
from exchange.core.pagination import Page, Pagination
from exchange.grants.schemas import DEPARTMENT_CODE
from exchange.identity.deps import Authz, CurrentPrincipal
from exchange.identity.scope import is_global, require_read

router = APIRouter(prefix="/v1/tasks", tags=["back office"])

PartStatus = Literal["pending", "approved", "rejected"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class Schema(BaseModel):
    """Base of every back-office request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class DecisionCreate(Schema):
    """A department's decision on its part: approve, or reject with a reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "reject", "reason": "卖方身份证已过有效期，请补充有效身份证明"}
            ]
        }
    )

    decision: Literal["approve", "reject"]
    reason: Reason | None = Field(default=None, description="required to reject")


class Resubmission(Schema):
    """The window sends a returned application back to review."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"applicant_visited": False}]})

    applicant_visited: bool = Field(
        default=False, description="the applicant came to the window again (one more visit)"
    )


class Withdrawal(Schema):
    """The window withdraws an application."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "买卖双方解除合同，申请人撤回申请"}]}
    )

    reason: Reason | None = None


class TaskRead(BaseModel):
    """A department's part of an application, without personal data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "number": "BJ330000-20261127-000001",
                    "one_thing": "esf-transfer",
                    "application_status": "returned",
                    "window_department": "zj-zrzyt",
                    "department": "zj-zrzyt",
                    "service_item": "330000-ZR-001",
                    "status": "rejected",
                    "reason": "卖方身份证已过有效期，请补充有效身份证明",
                    "decided_by": "zj-zrzyt-backoffice",
                    "decided_at": "2026-11-27T10:12:00Z",
                    "created_at": "2026-11-27T09:34:12Z",
                }
            ]
        }
    )

    id: int
    number: str
    one_thing: str
    application_status: str
    window_department: str
    department: str
    service_item: str
    status: str
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class ApplicationState(BaseModel):
    """Where an application stands after a window action."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "BJ330000-20261127-000001",
                    "status": "in_review",
                    "visits": 2,
                    "completed_at": None,
                    "parts": [
                        {
                            "id": 3,
                            "number": "BJ330000-20261127-000001",
                            "one_thing": "esf-transfer",
                            "application_status": "in_review",
                            "window_department": "zj-zrzyt",
                            "department": "zj-zrzyt",
                            "service_item": "330000-ZR-001",
                            "status": "pending",
                            "reason": None,
                            "decided_by": None,
                            "decided_at": None,
                            "created_at": "2026-11-27T09:34:12Z",
                        }
                    ],
                }
            ]
        }
    )

    number: str
    status: str
    visits: int
    completed_at: datetime | None
    parts: list[TaskRead]


def _task(part: ApplicationPart, application: Application) -> TaskRead:
    return TaskRead(
        id=part.id,
        number=application.number,
        one_thing=application.one_thing_code,
        application_status=application.status,
        window_department=application.window_department,
        department=part.department,
        service_item=part.service_item,
        status=part.status,
        reason=part.reason,
        decided_by=part.decided_by,
        decided_at=part.decided_at,
        created_at=part.created_at,
    )


def _state(application: Application) -> ApplicationState:
    return ApplicationState(
        number=application.number,
        status=application.status,
        visits=application.visits,
        completed_at=application.completed_at,
        parts=[_task(p, application) for p in application.parts],
    )


def denial_recorder(request: Request) -> backoffice.DenialRecorder:
    """Return the recorder that keeps refused attempts in a transaction of their own."""
    return backoffice.denial_recorder(request.app.state.sessionmaker)


Denials = Annotated[backoffice.DenialRecorder, Depends(denial_recorder)]


@router.get("")
def list_tasks(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    page: Pagination,
    status: PartStatus | None = None,
    department: Annotated[
        str | None, Query(pattern=DEPARTMENT_CODE, description="whose (default: the caller's)")
    ] = None,
) -> Page[TaskRead]:
    """List a department's back-office tasks (its parts of applications), oldest first."""
    code = department or (None if is_global(principal) else principal.department)
    require_read(principal, authz, backoffice.TASK, "tasks", code or principal.department)
    rows, total = backoffice.list_parts(
        session, department=code, status=status, offset=page.offset, limit=page.size
    )
    return Page(items=[_task(p, a) for p, a in rows], total=total, page=page.page, size=page.size)


@router.post("/{part_id}/decision")
def decide(
    part_id: Id,
    body: DecisionCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> TaskRead:
    """Approve or reject your department's part; all approved completes the application."""
    part = backoffice.decide(
        session,
        part_id=part_id,
        decision=body.decision,
        reason=body.reason,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _task(part, session.get_one(Application, part.application_id))


@router.post("/applications/{number}/resubmit")
def resubmit(
    number: str,
    body: Resubmission,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
) -> ApplicationState:
    """Send a returned application back to review (the window); rejected parts reopen."""
    application = backoffice.resubmit(
        session,
        number=number,
        applicant_visited=body.applicant_visited,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _state(application)


@router.post("/applications/{number}/withdraw")
def withdraw(
    number: str,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    denials: Denials,
    body: Withdrawal | None = None,
) -> ApplicationState:
    """Withdraw an application that is not yet completed (the window department)."""
    application = backoffice.withdraw(
        session,
        number=number,
        reason=body.reason if body else None,
        actor=principal,
        authz=authz,
        record_denied=denials,
    )
    return _state(application)
