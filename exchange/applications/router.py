"""HTTP routes of applications (办件): submit, read the case file, preview, confirm.

Every route returns personal data (or is about it): each is an ``AuditedRoute`` declaring
``AuditedDataRoute`` and appends its entries before answering. Bodies are parsed by the
services (not FastAPI), so a malformed request is refused with a logged ``denied`` entry.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from exchange.applications import preview, service
from exchange.applications.schemas import (
    ApplicationSubmit,
    ApplicationSummary,
    CaseFile,
    Decline,
    FileAdd,
)
from exchange.core.errors import InvalidInput
from exchange.core.pagination import Page, Pagination
from exchange.records.audited import AuditedDataRoute, AuditedRoute

router = APIRouter(prefix="/v1/applications", tags=["applications"], route_class=AuditedRoute)

_AUDITED = {"x-datarun-audited": True}
_CASE: dict[int | str, dict[str, Any]] = {
    200: {"model": CaseFile},
    403: {"description": "not the window department (or, to read, a part holder)"},
    404: {"description": "no such application or material"},
    409: {"description": "the application or material is not in a state that allows it"},
    503: {"description": "the access log is unavailable: nothing changed, no data"},
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local ``$ref``s by their definitions (the document has no ``$defs``)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _body_of(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema()
    content = {"application/json": {"schema": _inline(schema, schema.get("$defs", {}))}}
    return {**_AUDITED, "requestBody": {"required": True, "content": content}}


async def _json(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw and not required:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        message = "the body is not valid JSON"
        raise InvalidInput(message, errors=[{"field": "body", "message": message}]) from None


def _case(body: bytes, status: int = 200) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": CaseFile, "description": "accepted: the case file"},
        409: {"description": "a request with this Idempotency-Key is still in flight"},
        413: {"description": "a file over the size limit"},
        422: {"description": "invalid body, identifier, material, file or Idempotency-Key"},
        503: {"description": "the access log is unavailable: nothing stored"},
    },
    openapi_extra=_body_of(ApplicationSubmit),
)
async def submit(
    request: Request,
    trail: AuditedDataRoute,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Submit an application for a one-thing: its materials are pulled; answers the case file."""
    ctx = service.context_for(request.app.state)
    status, body = await service.submit(ctx, trail, await _json(request), idempotency_key)
    return _case(body, status)


@router.get("", response_model=Page[ApplicationSummary], openapi_extra=_AUDITED)
async def list_applications(
    request: Request,
    trail: AuditedDataRoute,
    page: Pagination,
    status: Annotated[str | None, Query(max_length=16, description="application status")] = None,
) -> Response:
    """List the applications the caller's department accepted or handles a part of."""
    ctx = service.context_for(request.app.state)
    return _case(await preview.listing(ctx, trail, page=page, status=status))


@router.get("/{number}", response_model=None, responses=_CASE, openapi_extra=_AUDITED)
async def read_case_file(number: str, request: Request, trail: AuditedDataRoute) -> Response:
    """Read a case file (the window department and the departments handling a part)."""
    ctx = service.context_for(request.app.state)
    return _case(await preview.read(ctx, trail, number))


@router.post(
    "/{number}/materials/{material}/decline",
    response_model=None,
    responses=_CASE,
    openapi_extra=_body_of(Decline),
)
async def decline_material(
    number: str, material: str, request: Request, trail: AuditedDataRoute
) -> Response:
    """Decline a pulled material in the preview: its evidence is dropped, it must be brought."""
    ctx = service.context_for(request.app.state)
    data = await _json(request, required=False)
    change = preview.decline(ctx, trail.principal, material, data)
    return _case(await preview.change(ctx, trail, number, change))


@router.post(
    "/{number}/materials/{material}/files",
    response_model=None,
    responses={**_CASE, 413: {"description": "the file is over the size limit"}},
    openapi_extra=_body_of(FileAdd),
)
async def add_file(
    number: str, material: str, request: Request, trail: AuditedDataRoute
) -> Response:
    """Bring a file for a material (type, size and duplicates checked)."""
    ctx = service.context_for(request.app.state)
    change = preview.add_file(ctx, trail.principal, material, await _json(request))
    return _case(await preview.change(ctx, trail, number, change))


@router.post("/{number}/confirm", response_model=None, responses=_CASE, openapi_extra=_AUDITED)
async def confirm(number: str, request: Request, trail: AuditedDataRoute) -> Response:
    """End the preview: the application goes to review, one part per department."""
    ctx = service.context_for(request.app.state)
    change = preview.confirm(ctx, trail.principal)
    return _case(await preview.change(ctx, trail, number, change))
