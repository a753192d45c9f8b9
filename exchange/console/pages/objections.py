"""Objection pages: open, answered and overdue data objections; the provider's answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from exchange.console import forms
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm, Viewer
from exchange.console.i18n import Translator
from exchange.console.pages import objection_form
from exchange.console.render import ConsoleRoute, language_of, redirect, render
from exchange.console.rules import place_errors
from exchange.core.deps import DbSession
from exchange.core.errors import Conflict, InvalidInput
from exchange.core.inputs import Id
from exchange.core.pagination import PageParams
from exchange.core.scoping import default_role
from exchange.grants.service import china_today
from exchange.grants.workdays import working_days_between
from exchange.identity.authz import Authorizer
from exchange.objections import decisions, service, views
from exchange.objections.schemas import AnswerCreate, ObjectionRead

router = APIRouter(route_class=ConsoleRoute)
# The form's /objections/new goes first: /objections/{objection_id} would take "new" as an id.
router.include_router(objection_form.router)
PAGE_SIZE = 25
VIEWS = ("open", "overdue", "answered", "closed")
ROLES = ("provider", "raiser")
ANSWERS = ("corrected", "confirmed_correct", "rejected")


def working_days_left(objection: ObjectionRead, today: date) -> int | None:
    """Return the provider's working days left to answer an open, not yet overdue objection."""
    if objection.status != "open" or objection.overdue:
        return None
    return working_days_between(today, objection.due_on)


@router.get("/objections")
def objection_list(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    view: Annotated[str | None, Query(max_length=16)] = None,
    role: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List objections: open, overdue, answered or closed; to answer or raised."""
    authz.require(viewer.principal, obj="objection", act="read")
    view = view if view in VIEWS else "open"
    if role not in ROLES:
        role = default_role(viewer.principal)
    found = views.list_objections(
        session,
        principal=viewer.principal,
        authz=authz,
        page=PageParams(page=page, size=PAGE_SIZE),
        role=role,
        status="open" if view == "overdue" else view,
        overdue=view == "overdue",
    )
    today = china_today()
    return render(
        request,
        "objections/list.html",
        {
            "found": found,
            "rows": [(o, working_days_left(o, today)) for o in found.items],
            "may_raise": authz.allowed(viewer.principal, obj="objection", act="raise"),
            "view": view,
            "role": role or "",
            "views": VIEWS,
            "roles": ROLES,
            "page": page,
            "size": PAGE_SIZE,
        },
    )


def _detail_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    objection_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    objection = views.get_objection(
        session, objection_id=objection_id, principal=viewer.principal, authz=authz
    )
    may_answer = objection.status == "open" and authz.allowed(
        viewer.principal, obj="objection", act="answer", domain=objection.provider
    )
    return render(
        request,
        "objections/detail.html",
        {
            "o": objection,
            "days_left": working_days_left(objection, china_today()),
            "may_answer": may_answer,
            "answers": ANSWERS,
            "errors": errors or {},
            "done": done,
        },
        status=status,
    )


@router.get("/objections/{objection_id}")
def objection_detail(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    objection_id: Id,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Show an objection with its history, and the answer form for its provider."""
    return _detail_page(request, session, viewer, authz, objection_id, done=done)


@router.post("/objections/{objection_id}/answer")
def answer(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
    objection_id: Id,
) -> Response:
    """Answer an open objection: corrected, confirmed correct, or rejected with a reason."""
    t = Translator(language_of(request))
    try:
        data = AnswerCreate.model_validate(
            {
                "answer": forms.text(form, "answer", 32),
                "reason": forms.optional(form, "reason"),
            }
        )
        decisions.answer(
            session,
            objection_id=objection_id,
            data=data,
            actor=viewer.principal,
            authz=authz,
            record_denied=service.denial_recorder(request.app.state.sessionmaker),
        )
    except (ValidationError, InvalidInput, Conflict) as exc:
        session.rollback()
        problems = forms.refusal_problems(exc, t)
        return _detail_page(
            request,
            session,
            viewer,
            authz,
            objection_id,
            errors=place_errors(problems, ("answer", "reason")),
            status=409 if isinstance(exc, Conflict) else 422,
        )
    return redirect(f"/console/objections/{objection_id}?done=answered")
