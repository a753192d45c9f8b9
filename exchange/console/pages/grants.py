"""Grant pages: the provider's inbox, the consumer's requests, decisions, permission views."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from catalogs.resources import service as resources
from exchange.console import forms, repository
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm, Viewer
from exchange.console.i18n import Translator
from exchange.console.render import ConsoleRoute, language_of, redirect, render
from exchange.console.rules import place_errors
from exchange.core.deps import DbSession
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.inputs import Id
from exchange.core.pagination import PageParams
from exchange.grants import decisions, service, views
from exchange.grants.rules import STATUSES
from exchange.grants.schemas import Approval, GrantCreate, GrantRead
from exchange.grants.workdays import working_days_between
from exchange.identity.authz import Authorizer
from exchange.identity.scope import is_global

router = APIRouter(route_class=ConsoleRoute)
PAGE_SIZE = 25
VIEWS = ("inbox", "requests", "all")
ACTIONS = ("approve", "refuse", "revoke", "recertify")
REQUEST_FIELDS = ("resource", "consumer", "items", "purposes", "starts_on", "ends_on", "need")
DECISION_FIELDS = ("items", "starts_on", "ends_on", "reason")


def working_days_left(grant: GrantRead, today: date) -> int | None:
    """Return the provider's working days left to decide a pending, not yet overdue request."""
    if grant.status != "pending" or grant.due_on is None or grant.overdue:
        return None
    return working_days_between(today, grant.due_on)


@router.get("/grants")
def grant_list(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    view: Annotated[str | None, Query(max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List grants: the provider's inbox, the consumer's requests, or all (province, audit)."""
    authz.require(viewer.principal, obj="grant", act="read")
    global_role = is_global(viewer.principal)
    view = view if view in VIEWS else ("all" if global_role else "inbox")
    if status not in STATUSES:
        status = "pending" if view == "inbox" and status is None else None
    role = {"inbox": "provider", "requests": "consumer", "all": None}[view]
    found = views.list_grants(
        session,
        principal=viewer.principal,
        authz=authz,
        page=PageParams(page=page, size=PAGE_SIZE),
        role=role,
        status=status,
        overdue=overdue,
    )
    today = service.china_today()
    rows = [(g, working_days_left(g, today)) for g in found.items]
    params = {"view": view, "status": status or "", "overdue": "true" if overdue else ""}
    return render(
        request,
        "grants/list.html",
        {
            "rows": rows,
            "found": found,
            "view": view,
            "status": status,
            "overdue": overdue,
            "params": params,
            "statuses": STATUSES,
            "page": page,
            "size": PAGE_SIZE,
            "views": VIEWS if global_role else VIEWS[:2],
        },
    )


def _consumers(session: Session, viewer: Viewer, authz: Authorizer) -> list[tuple[str, str]]:
    return [
        (d.code, d.name)
        for d in repository.departments(session)
        if authz.allowed(viewer.principal, obj="grant", act="request", domain=d.code)
    ]


def _request_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    status: int = 200,
) -> Response:
    resource = None
    code = values.get("resource") or ""
    if code:
        try:
            resource = resources.get_resource(session, code=code, principal=viewer.principal)
        except (NotFound, InvalidInput):
            errors.setdefault("resource", [Translator(language_of(request))("grants.no_resource")])
    return render(
        request,
        "grants/new.html",
        {
            "values": values,
            "errors": errors,
            "resource": resource,
            "consumers": _consumers(session, viewer, authz),
        },
        status=status,
    )


@router.get("/grants/new")
def request_form(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    resource: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Show the grant request form (pick the resource first, then its items)."""
    authz.require(viewer.principal, obj="grant", act="request")
    values = {
        "resource": resource or "",
        "consumer": viewer.department,
        "items": [],
        "purposes": "",
        "need": "",
        "starts_on": "",
        "ends_on": "",
        "masked": False,
    }
    return _request_page(request, session, viewer, authz, values, {})


@router.post("/grants/new")
def file_request(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
) -> Response:
    """File a grant request; the resource's sharing type decides what happens at once."""
    t = Translator(language_of(request))
    values: dict[str, Any] = {
        "resource": forms.text(form, "resource", 32),
        "consumer": forms.text(form, "consumer", 64) or viewer.department,
        "items": [str(v) for v in form.getlist("items")],
        "purposes": forms.text(form, "purposes"),
        "need": forms.text(form, "need", 4000),
        "starts_on": forms.text(form, "starts_on"),
        "ends_on": forms.text(form, "ends_on"),
        "masked": forms.text(form, "masked") == "on",
    }
    try:
        data = GrantCreate.model_validate(
            {
                "resource": values["resource"],
                "consumer": values["consumer"],
                "items": values["items"],
                "purposes": forms.words(form, "purposes"),
                "need": values["need"],
                "starts_on": values["starts_on"] or None,
                "ends_on": values["ends_on"] or None,
                "masked": values["masked"],
            }
        )
        grant = service.request_grant(
            session,
            data=data,
            actor=viewer.principal,
            authz=authz,
            settings=request.app.state.settings,
        )
    except (ValidationError, InvalidInput, Conflict) as exc:
        session.rollback()
        problems = forms.refusal_problems(exc, t)
        placed = place_errors(problems, REQUEST_FIELDS)
        return _request_page(request, session, viewer, authz, values, placed, status=422)
    return redirect(f"/console/grants/{grant.id}?done=requested")


def _detail_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    grant_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    action: str | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    grant = views.get_grant(session, grant_id=grant_id, principal=viewer.principal, authz=authz)
    may_decide = authz.allowed(viewer.principal, obj="grant", act="write", domain=grant.provider)
    today = service.china_today()
    return render(
        request,
        "grants/detail.html",
        {
            "g": grant,
            "may_decide": may_decide,
            "errors": errors or {},
            "action": action,
            "done": done,
            "days_left": working_days_left(grant, today),
            "today": today,
        },
        status=status,
    )


@router.get("/grants/{grant_id}")
def grant_detail(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    grant_id: Id,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Show a grant with its history and the decisions its viewer may take."""
    return _detail_page(request, session, viewer, authz, grant_id, done=done)


@router.post("/grants/{grant_id}/{action}")
def decide(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
    grant_id: Id,
    action: str,
) -> Response:
    """Approve (possibly narrowed), refuse, revoke or re-certify a grant."""
    if action not in ACTIONS:
        raise NotFound(f"no grant action {action}")
    t = Translator(language_of(request))
    recorder = service.denial_recorder(request.app.state.sessionmaker)
    actor = viewer.principal
    reason = forms.optional(form, "reason")
    try:
        if action == "approve":
            data = Approval.model_validate(
                {
                    "items": [str(v) for v in form.getlist("items")] or None,
                    "starts_on": forms.optional(form, "starts_on"),
                    "ends_on": forms.optional(form, "ends_on"),
                    "reason": reason,
                }
            )
            if data.items is None:
                raise InvalidInput(
                    "no items", errors=[{"field": "items", "message": t("grants.choose_items")}]
                )
            decisions.approve(
                session,
                grant_id=grant_id,
                data=data,
                actor=actor,
                authz=authz,
                record_denied=recorder,
            )
        elif action in ("refuse", "revoke"):
            if not reason:
                raise InvalidInput(
                    "a reason is required",
                    errors=[{"field": "reason", "message": t("grants.reason_required")}],
                )
            decide_with = decisions.refuse if action == "refuse" else decisions.revoke
            decide_with(
                session,
                grant_id=grant_id,
                reason=reason,
                actor=actor,
                authz=authz,
                record_denied=recorder,
            )
        else:
            decisions.recertify(
                session,
                grant_id=grant_id,
                actor=actor,
                authz=authz,
                reason=reason,
                record_denied=recorder,
            )
    except (ValidationError, InvalidInput, Conflict) as exc:
        session.rollback()
        return _detail_page(
            request,
            session,
            viewer,
            authz,
            grant_id,
            errors=place_errors(forms.refusal_problems(exc, t), DECISION_FIELDS),
            action=action,
            status=409 if isinstance(exc, Conflict) else 422,
        )
    return redirect(f"/console/grants/{grant_id}?done={action}")


@router.get("/permissions")
def permissions(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    resource: Annotated[str | None, Query(max_length=32)] = None,
    system: Annotated[str | None, Query(max_length=128)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Who can read a resource, or what a system can read (approved grants not yet ended)."""
    authz.require(viewer.principal, obj="grant", act="read")
    paging = PageParams(page=page, size=PAGE_SIZE)
    by_resource = by_system = None
    if resource:
        by_resource = views.resource_permissions(
            session, code=resource, principal=viewer.principal, authz=authz, page=paging
        )
    elif system:
        by_system = views.system_permissions(
            session, client_id=system, principal=viewer.principal, authz=authz, page=paging
        )
    return render(
        request,
        "grants/permissions.html",
        {
            "resource": resource or "",
            "system": system or "",
            "by_resource": by_resource,
            "by_system": by_system,
            "page": page,
            "size": PAGE_SIZE,
        },
    )
