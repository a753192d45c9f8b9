"""HTTP routes of record pulls (数据调取): department systems read granted items by key.

A 资源代码 contains "/" (``301001001/000001``), so ``{code:path}`` takes it whole. The batch
route ``POST …/{code}/lookup`` is declared first; ``GET …/{code}`` for one key cannot take
it, as its method differs. Both parse their input themselves (not through FastAPI's
validation) so that a malformed request is refused with a logged ``denied`` entry too.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from exchange.core.errors import InvalidInput
from exchange.records import service
from exchange.records.audited import AuditedDataRoute, AuditedRoute
from exchange.records.direct import DirectAuditedRoute
from exchange.records.rules import digest_header
from exchange.records.schemas import LookupRequest, LookupResponse

router = APIRouter(prefix="/v1/records", tags=["records"], route_class=AuditedRoute)

_HEADERS = {
    "Records-Digest": {
        "description": "sha-256=:<base64>: of the canonical JSON of `records` "
        "(the bytes records_sha256 is over)",
        "schema": {"type": "string"},
    },
    "X-Audit-Seq": {
        "description": "the access-log entries of this pull: first-last sequence numbers",
        "schema": {"type": "string"},
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": LookupResponse, "headers": _HEADERS},
    403: {"description": "not a system, 不予共享, another department's case, or no grant"},
    404: {"description": "no such resource, or not published"},
    422: {"description": "items, purpose, batch size or a key is invalid"},
    503: {"description": "the source or the access log is unavailable: no data"},
}
_AUDITED = {"x-datarun-audited": True}
_BODY = {
    **_AUDITED,
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": LookupRequest.model_json_schema()}},
    },
}


def _hub(request: Request) -> service.Hub:
    return service.hub_for(request.app.state)


def _respond(answer: service.Answer) -> Response:
    first, last = answer.seqs
    headers = {
        "Records-Digest": digest_header(answer.records_sha256),
        "X-Audit-Seq": f"{first}-{last}",
        "Cache-Control": "no-store",
    }
    return Response(answer.body, media_type="application/json", headers=headers)


async def lookup(code: str, request: Request, trail: AuditedDataRoute) -> Response:
    """Look up records of a resource by key (a batch), for a purpose: granted items only."""
    hub = _hub(request)
    try:
        data = json.loads(await request.body())
    except ValueError:
        message = "the body is not valid JSON"
        raise InvalidInput(message, errors=[{"field": "body", "message": message}]) from None
    ask = service.parse_request(trail, data, max_batch=hub.settings.records_max_batch)
    return _respond(await service.pull(hub=hub, trail=trail, code=code, ask=ask))


# The hottest route of the hub: FastAPI's solver is bypassed where that changes nothing but
# the speed (exchange/records/direct.py); declared like any route, for the docs and checks.
router.add_api_route(
    "/{code:path}/lookup",
    lookup,
    methods=["POST"],
    response_model=None,
    responses=_RESPONSES,
    openapi_extra=_BODY,
    route_class_override=DirectAuditedRoute,
)


@router.get("/{code:path}", response_model=None, responses=_RESPONSES, openapi_extra=_AUDITED)
async def get_records(
    code: str,
    request: Request,
    trail: AuditedDataRoute,
    key: Annotated[
        str | None, Query(max_length=4096, description="the key value, e.g. a 公民身份号码")
    ] = None,
    items: Annotated[
        str | None, Query(max_length=4096, description="item codes, comma-separated")
    ] = None,
    purpose: Annotated[
        str | None, Query(max_length=4096, description="service item or one-thing code")
    ] = None,
    case_id: Annotated[
        str | None, Query(max_length=4096, description="the case the pull serves")
    ] = None,
    partial: Annotated[
        str | None, Query(max_length=4096, description="deny (default) or allow")
    ] = None,
) -> Response:
    """Look up the records of one key (the same checks and answer as the batch lookup)."""
    trail.note(keys=[key] if key is not None else [])
    hub = _hub(request)
    for name, value in (("key", key), ("items", items), ("purpose", purpose)):
        if value is None:
            message = f"the query parameter {name} is required"
            raise InvalidInput(message, errors=[{"field": name, "message": message}])
    data: dict[str, Any] = {"keys": [key], "items": (items or "").split(","), "purpose": purpose}
    if case_id is not None:
        data["case_id"] = case_id
    if partial is not None:
        data["partial"] = partial
    ask = service.parse_request(trail, data, max_batch=hub.settings.records_max_batch)
    return _respond(await service.pull(hub=hub, trail=trail, code=code, ask=ask))
