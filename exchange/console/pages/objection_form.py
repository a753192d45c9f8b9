"""The objection form: a department's people raise a data objection against a record.

The record is named by resource and key, or by the department's own access-log entry that
showed it (its resource and case are then filled in). The post goes through the same
shape and service as ``POST /v1/objections``; their errors are shown beside the field.

Entry and key. An entry number of the viewer's own department (one naming a resource and
a key) decides the record's key: the form never shows that key in full (it may be a
citizen's 公民身份号码 the person did not type) but masked, as a masked grant shows an ID
number (``330102********1234``), and read-only. The post carries only that masked text;
the key is taken again from the entry, server-side, and the masked text is never a key.
A key typed together with an entry number must be the entry's key: left blank, the masked
text as shown, or the full key are taken as the entry's; any other key is kept as typed
and refused by the service, beside the entry number, as the API refuses a key that is not
its entry's. An entry of another department (or none, or one naming no record) fills
nothing and is refused by the service the same way. Without an entry number the typed key
is the key, but one holding the mask character ``*`` is refused beside the key field: it
can only be an entry's masked key whose entry number was taken away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from catalogs.resources import service as resources
from catalogs.resources.models import Resource
from exchange.console import forms
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm, Viewer
from exchange.console.i18n import Translator
from exchange.console.render import ConsoleRoute, language_of, redirect, render
from exchange.console.rules import place_errors
from exchange.core.deps import DbSession
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.objections import repository, service
from exchange.objections.schemas import ObjectionCreate
from exchange.records.masking import mask_resident_id

router = APIRouter(route_class=ConsoleRoute)
RECORD_FIELDS = ("resource_code", "key", "audit_seq")  # the first step: which record
FIELDS = (*RECORD_FIELDS, "key_item", "case_id", "items", "description")
CORRECT = "correct-"  # the form's "value believed correct" field of item <code>
MAX_CORRECTIONS = 200
# Cut-offs a little above the API's own limits, so an overlong value is refused, not cut.
_LIMITS = {"resource_code": 64, "key": 300, "key_item": 80, "audit_seq": 24, "case_id": 160}
MASK = "*"  # what the masking helpers put in place of the hidden characters


def _values(form: Mapping[str, Any], items: list[str]) -> dict[str, Any]:
    """Return what was typed, to check and to show again: fields, ticked items, corrections."""
    values: dict[str, Any] = {name: forms.text(form, name, n) for name, n in _LIMITS.items()}
    values["description"] = forms.text(form, "description", 4100)
    values["items"] = items
    corrections: dict[str, str] = {}
    for name in form:
        value = forms.text(form, name, 4100) if name.startswith(CORRECT) else ""
        if value and len(corrections) < MAX_CORRECTIONS:
            corrections[name.removeprefix(CORRECT)] = value
    values["corrections"] = corrections
    return values


def masked_key(key: str) -> str:
    """Return a record key as the form shows an entry's key: 330102********1234."""
    return mask_resident_id(key)


def _from_entry(session: Session, viewer: Viewer, values: dict[str, Any]) -> str | None:
    """Fill the record from the viewer's department's own access-log entry; return its key.

    The key field is then the entry's key masked; the returned full key is the one to use.
    None when the entry is not the department's (nothing is filled: the service then says
    why it does not fit) or when a different key was typed (kept, and refused likewise).
    """
    seq = values["audit_seq"]
    if not (seq.isascii() and seq.isdigit()):
        return None
    entry = repository.audit_entry(session, int(seq)) if len(seq) < 19 else None
    if entry is None or entry.department != viewer.department or not entry.resource_code:
        return None
    values["resource_code"] = values["resource_code"] or entry.resource_code
    values["case_id"] = values["case_id"] or (entry.case_id or "")
    key = entry.subject_key
    if not key:
        return None
    shown = masked_key(key)
    if values["key"] not in ("", shown, key):
        return None
    values["key"] = shown  # never the full key: it goes back to the browser
    return key


def _form_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, Any],
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
    *,
    key_from_entry: bool = False,
) -> Response:
    resource: Resource | None = None
    if values["resource_code"]:
        try:
            resource = resources.get_resource(
                session, code=values["resource_code"], principal=viewer.principal
            )
        except (NotFound, InvalidInput):
            resource = None
    if resource is None:
        fields: tuple[str, ...] = RECORD_FIELDS
    else:
        fields = FIELDS + tuple(CORRECT + i.code for i in resource.items)
    errors = place_errors(problems or [], fields)
    if values["resource_code"] and resource is None:
        message = Translator(language_of(request))("grants.no_resource")
        errors.setdefault("resource_code", [message])
    return render(
        request,
        "objections/new.html",
        {
            "values": values,
            "errors": errors,
            "resource": resource,
            "key_from_entry": key_from_entry,
            "key_items": [(i.code, i.name) for i in resource.items if i.is_key] if resource else [],
        },
        status=status,
    )


@router.get("/objections/new")
def objection_form(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    resource_code: Annotated[str | None, Query(max_length=64)] = None,
    key: Annotated[str | None, Query(max_length=300)] = None,
    audit_seq: Annotated[str | None, Query(max_length=24)] = None,
    case_id: Annotated[str | None, Query(max_length=160)] = None,
) -> Response:
    """Show the objection form: the record first (resource and key, or an access-log entry)."""
    authz.require(viewer.principal, obj=service.OBJECT, act="raise")
    given = {"resource_code": resource_code, "key": key, "audit_seq": audit_seq}
    values = _values({**given, "case_id": case_id}, [])
    entry_key = _from_entry(session, viewer, values)
    problems = []
    if not values["resource_code"] and any(given.values()):
        # "Next" named no record: an entry that is not the department's, or no resource.
        t = Translator(language_of(request))
        if values["audit_seq"]:
            problems.append({"field": "audit_seq", "message": t("objections.no_entry")})
        else:
            problems.append({"field": "resource_code", "message": t("form.required")})
    return _form_page(
        request, session, viewer, values, problems, key_from_entry=entry_key is not None
    )


@router.post("/objections/new")
def raise_objection(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
) -> Response:
    """Raise the objection; the provider answers by the deadline of N working days."""
    authz.require(viewer.principal, obj=service.OBJECT, act="raise")
    t = Translator(language_of(request))
    values = _values(form, [str(v) for v in form.getlist("items")])
    entry_key = _from_entry(session, viewer, values)
    # The entry's key, never the posted (masked) text; without an entry, the typed key.
    key = entry_key if entry_key is not None else values["key"]
    problems: list[dict[str, Any]] = []
    data: ObjectionCreate | None = None
    try:
        data = ObjectionCreate.model_validate(
            {
                "resource_code": values["resource_code"],
                "key": key,
                "key_item": values["key_item"] or None,
                "items": values["items"],
                "description": values["description"],
                "proposed_correction": values["corrections"] or None,
                "case_id": values["case_id"] or None,
                "audit_seq": values["audit_seq"] or None,
            }
        )
    except ValidationError as exc:
        problems = _problems(exc, t)
    if entry_key is None and MASK in key and not values["audit_seq"]:
        # A masked key without its entry. (With an entry number that did not give the key,
        # the service refuses the pair: the entry is not this department's access to it.)
        problems.append({"field": "key", "message": t("objections.masked_key")})
    if problems or data is None:
        return _form_page(
            request, session, viewer, values, problems, 422, key_from_entry=entry_key is not None
        )
    try:
        objection = service.raise_for_department(
            session,
            data=data,
            actor=viewer.principal,
            authz=authz,
            settings=request.app.state.settings,
        )
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        return _form_page(
            request,
            session,
            viewer,
            values,
            _problems(exc, t),
            status,
            key_from_entry=entry_key is not None,
        )
    return redirect(f"/console/objections/{objection.id}?done=raised")


def _problems(exc: Exception, t: Translator) -> list[dict[str, Any]]:
    """Return the errors of a refused objection, each naming the form field that shows it."""
    problems = forms.refusal_problems(exc, t)
    for p in problems:
        # proposed_correction.<code> is shown beside that item's "correct value" field.
        field = str(p.get("field", ""))
        if field.startswith("proposed_correction."):
            p["field"] = CORRECT + field.removeprefix("proposed_correction.")
    return problems
