"""Catalogue pages: browse and search, an entry with its history, create, edit, lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from catalogs.resources import rules as resource_rules
from catalogs.resources import service
from catalogs.resources.schemas import ResourceCreate, ResourceUpdate
from exchange.console import diff, forms, repository
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm, Viewer
from exchange.console.i18n import Translator
from exchange.console.render import ConsoleRoute, language_of, redirect, render
from exchange.console.rules import place_errors
from exchange.core.deps import DbSession
from exchange.core.errors import Conflict, InvalidInput
from exchange.core.pagination import PageParams
from exchange.identity.authz import Authorizer

router = APIRouter(route_class=ConsoleRoute)
Text = Annotated[str | None, Query(max_length=200)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]

FORMATS = (
    "electronic_file",
    "spreadsheet",
    "database",
    "image",
    "streaming",
    "self_describing",
    "service_interface",
)
SHARE_TYPES = ("unconditional", "conditional", "none")
SHARE_METHODS = ("api", "file", "database")
OPEN_TYPES = ("open", "conditional", "closed")
UPDATE_CYCLES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly")
DATA_TYPES = ("C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F")
STATUSES = resource_rules.STATUSES
PAGE_SIZE = 20
BLANK_ROWS = 3
FORM_FIELDS = frozenset(
    {
        "code",
        "name",
        "provider",
        "summary",
        "format",
        "share_type",
        "share_condition",
        "share_method",
        "legal_basis",
        "open_type",
        "update_cycle",
        "published_on",
        "related_codes",
        "items",
    }
)


def _writable(viewer: Viewer, authz: Authorizer, provider: str) -> bool:
    return authz.allowed(viewer.principal, obj="catalog", act="write", domain=provider)


def _providers(session: Session, viewer: Viewer, authz: Authorizer) -> list[tuple[str, str]]:
    return [
        (d.code, f"{d.name} ({d.code})")
        for d in repository.departments(session)
        if _writable(viewer, authz, d.code)
    ]


@router.get("/catalogue")
def search(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    q: Text = None,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    share_type: Text = None,
    status: Text = None,
    update_cycle: Text = None,
    page: PageNo = 1,
) -> Response:
    """Browse and search the catalogue."""
    authz.require(viewer.principal, obj="catalog", act="read")
    params = {
        "q": q,
        "provider": provider or None,
        "share_type": share_type or None,
        "status": status or None,
        "update_cycle": update_cycle or None,
    }
    errors: dict[str, list[str]] = {}
    t = Translator(language_of(request))
    for name, allowed in (
        ("share_type", SHARE_TYPES),
        ("status", STATUSES),
        ("update_cycle", UPDATE_CYCLES),
    ):
        if params[name] and params[name] not in allowed:
            errors[name] = [t("form.choose")]
            params[name] = None
    rows: list[Any] = []
    total = 0
    try:
        rows, total = service.search_resources(
            session,
            principal=viewer.principal,
            page=PageParams(page=page, size=PAGE_SIZE),
            **params,
        )
    except InvalidInput as exc:
        errors.setdefault("provider", []).append(t.refusal(exc))
    departments = [(d.code, d.name) for d in repository.departments(session)]
    return render(
        request,
        "catalogue/list.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "size": PAGE_SIZE,
            "params": params,
            "errors": errors,
            "departments": departments,
            "share_types": SHARE_TYPES,
            "statuses": STATUSES,
            "update_cycles": UPDATE_CYCLES,
            "can_create": bool(_providers(session, viewer, authz)),
        },
    )


def _form_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    *,
    values: dict[str, Any],
    items: list[dict[str, Any]],
    errors: dict[str, list[str]],
    code: str | None,
    status: int = 200,
) -> Response:
    rows = items + [{} for _ in range(BLANK_ROWS)]
    return render(
        request,
        "catalogue/form.html",
        {
            "values": values,
            "items": rows,
            "errors": errors,
            "code": code,
            "providers": _providers(session, viewer, authz),
            "formats": FORMATS,
            "share_types": SHARE_TYPES,
            "share_methods": SHARE_METHODS,
            "open_types": OPEN_TYPES,
            "update_cycles": UPDATE_CYCLES,
            "data_types": DATA_TYPES,
        },
        status=status,
    )


def _values(form: Any) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "provider": forms.text(form, "provider"),
        "summary": forms.text(form, "summary"),
        "format": forms.text(form, "format"),
        "share_type": forms.text(form, "share_type"),
        "share_condition": forms.optional(form, "share_condition"),
        "share_method": forms.text(form, "share_method"),
        "legal_basis": forms.optional(form, "legal_basis"),
        "open_type": forms.text(form, "open_type"),
        "update_cycle": forms.text(form, "update_cycle"),
        "published_on": forms.optional(form, "published_on"),
        "related_codes": forms.words(form, "related_codes"),
    }


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Return form values as the form shows them (lists joined, None as '')."""
    return {
        k: (" ".join(v) if isinstance(v, list) else ("" if v is None else str(v)))
        for k, v in values.items()
    }


def _errors(errors: list[dict[str, Any]], rows: forms.ItemRows) -> dict[str, list[str]]:
    """Place each error beside its field; an item's error beside its row's field."""
    mapped = [{**e, "field": rows.field_name(str(e.get("field") or "form"))} for e in errors]
    item_fields = {str(e["field"]) for e in mapped if str(e["field"]).startswith("item-")}
    return place_errors(mapped, FORM_FIELDS | item_fields)


def _save(
    request: Request,
    session: Session,
    viewer: Viewer,
    authz: Authorizer,
    form: Any,
    code: str | None,
) -> Response:
    """Validate and save a create or edit form; on any error, show it with nothing saved."""
    t = Translator(language_of(request))
    values = _values(form)
    rows = forms.item_rows(form)
    try:
        if code is None:
            new_code = forms.text(form, "code", 64)
            data = ResourceCreate.model_validate({"code": new_code, **values, "items": rows.rows})
            resource = service.create_resource(
                session, data=data, actor=viewer.principal, authz=authz
            )
            done = "created"
        else:
            update = ResourceUpdate.model_validate({**values, "items": rows.rows})
            resource = service.update_resource(
                session, code=code, data=update, actor=viewer.principal, authz=authz
            )
            done = "saved"
    except (ValidationError, InvalidInput, Conflict) as exc:
        session.rollback()  # nothing half-saved
        if isinstance(exc, ValidationError):
            problems = forms.validation_errors(exc, t)
        elif exc.errors:
            problems = list(exc.errors)
        else:
            field = "code" if isinstance(exc, Conflict) and code is None else "form"
            problems = [{"field": field, "message": t.refusal(exc)}]
        shown = _shown(values)
        if code is None:
            shown["code"] = forms.text(form, "code", 64)
        return _form_page(
            request,
            session,
            viewer,
            authz,
            values=shown,
            items=rows.shown,
            errors=_errors(problems, rows),
            code=code,
            status=422,
        )
    return redirect(f"/console/catalogue/{resource.code}?done={done}")


@router.get("/catalogue/new")
def new_form(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz
) -> Response:
    """Show the form for a new catalogue entry (a draft)."""
    providers = _providers(session, viewer, authz)
    authz.require(
        viewer.principal,
        obj="catalog",
        act="write",
        domain=providers[0][0] if providers else viewer.department,
    )
    values = {
        "provider": viewer.department,
        "share_method": "api",
        "open_type": "closed",
        "update_cycle": "daily",
        "format": "database",
        "share_type": "conditional",
    }
    return _form_page(
        request, session, viewer, authz, values=values, items=[], errors={}, code=None
    )


@router.post("/catalogue/new")
def create(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
) -> Response:
    """Create a catalogue entry as a draft."""
    return _save(request, session, viewer, authz, form, None)


@router.get("/catalogue/{code:path}/edit")
def edit_form(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz, code: str
) -> Response:
    """Show the form to change an entry."""
    resource = service.get_resource(session, code=code, principal=viewer.principal)
    authz.require(viewer.principal, obj="catalog", act="write", domain=resource.provider.code)
    snap = resource_rules.snapshot(resource)
    items = [
        {**i, "sensitivity": str(i["sensitivity"]), "description": i["description"] or ""}
        for i in snap.pop("items")
    ]
    return _form_page(
        request,
        session,
        viewer,
        authz,
        values=_shown(snap),
        items=items,
        errors={},
        code=resource.code,
    )


@router.post("/catalogue/{code:path}/edit")
def edit(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
    code: str,
) -> Response:
    """Save changes to an entry; its version bumps by what changed."""
    return _save(request, session, viewer, authz, form, code)


@router.post("/catalogue/{code:path}/status")
def change_status(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
    code: str,
) -> Response:
    """Publish, deprecate, reinstate or retire an entry."""
    status = forms.text(form, "status", 16)
    if status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}")
    service.change_status(
        session,
        code=code,
        status=status,
        actor=viewer.principal,
        authz=authz,
        reason=forms.optional(form, "reason"),
    )
    return redirect(f"/console/catalogue/{code}?done=status")


@router.get("/catalogue/{code:path}")
def entry(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    code: str,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Show an entry's full metadata and its version history with what changed."""
    resource = service.get_resource(session, code=code, principal=viewer.principal)
    versions = service.list_versions(session, code=code, principal=viewer.principal)
    history = [
        {
            "version": v,
            "changes": [
                {**c, "pieces": diff.inline(c.get("from"), c.get("to"))} for c in v.changes
            ],
        }
        for v in reversed(versions)
    ]
    writable = _writable(viewer, authz, resource.provider.code)
    moves = sorted(resource_rules.LIFECYCLE.get(resource.status, frozenset())) if writable else []
    return render(
        request,
        "catalogue/entry.html",
        {
            "r": service.to_read(resource),
            "history": history,
            "writable": writable,
            "moves": moves,
            "done": done,
        },
    )
