"""Identity endpoints: the token endpoint, the hub's keys, the caller, the systems registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from exchange.core.db import session_scope
from exchange.core.deps import DbSession
from exchange.core.inputs import pending_refusal
from exchange.core.pagination import Page, Pagination
from exchange.identity import keys, service
from exchange.identity.deps import Authz, CurrentPrincipal
from exchange.identity.errors import OAuthError, invalid_request
from exchange.identity.schemas import (
    MeRead,
    OAuthErrorBody,
    SystemCreate,
    SystemRead,
    SystemStatus,
    SystemUpdate,
    TokenResponse,
)

router = APIRouter(tags=["identity"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"
_TOKEN_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type", "client_assertion_type", "client_assertion"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_assertion_type": {
            "type": "string",
            "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
        },
        "client_assertion": {"type": "string", "description": "JWT signed with the system's key"},
        "client_id": {"type": "string", "description": "optional; must equal the assertion iss"},
    },
}


def _oauth_error(exc: OAuthError) -> JSONResponse:
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=_NO_STORE)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthErrorBody},
        401: {"model": OAuthErrorBody},
        429: {
            "description": "too many token requests naming this client (or, naming none, "
            "from this address): problem+json with Retry-After"
        },
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {_FORM: {"schema": _TOKEN_FORM_SCHEMA}}},
        "x-datarun-oauth": True,  # a refused input (NUL) is answered here, in OAuth's format
    },
)
async def token(request: Request) -> Response:
    """Exchange a private_key_jwt client assertion for an access token (OAuth2 client credentials).

    This is the one endpoint that answers errors in OAuth's own format (RFC 6749 §5.2:
    `{"error", "error_description"}`, 400 or 401 for `invalid_client`) instead of
    problem+json, because OAuth client libraries expect exactly that shape. Too many
    requests naming one client id (or from one address) get 429 problem+json with
    Retry-After before any assertion is checked.
    """
    params = await _params(request)
    limit = request.app.state.token_rate_limit
    refused = await limit.refuse(request.scope, params if isinstance(params, dict) else {})
    if refused is not None:
        return refused
    if isinstance(params, OAuthError):
        return _oauth_error(params)
    app = request.app
    try:
        body = await run_in_threadpool(_exchange, app, params)
    except OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(body, headers=_NO_STORE)


async def _params(request: Request) -> dict[str, list[str]] | OAuthError:
    """Return the token request's form parameters, or the error that refuses it."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        return invalid_request(f"the body must be {_FORM}")
    if (refusal := pending_refusal(request)) is not None:
        fields = "; ".join(f"{e['field']} {e['message']}" for e in refusal.errors or [])
        return invalid_request(fields or refusal.detail)
    try:
        form = await request.form()
    except Exception:  # starlette raises several types for an unparsable body
        return invalid_request("the form body does not parse")
    return {k: [str(v) for v in form.getlist(k)] for k in form}


def _exchange(app: Any, params: dict[str, list[str]]) -> dict[str, Any]:
    # Its own transaction, committed before the token leaves: a spent jti must be durable
    # before the caller holds a token, or a replay could win after a failed late commit.
    with session_scope(app.state.sessionmaker) as session:
        return service.client_credentials(
            session, app.state.keyring, app.state.settings, params=params
        )


@router.get("/.well-known/jwks.json")
def jwks(session: DbSession, request: Request, response: Response) -> dict[str, Any]:
    """Publish the hub's token-verification keys (JWK Set), including those in overlap."""
    request.app.state.keyring.signing()  # a fresh hub makes its first key here, not later
    response.headers["Cache-Control"] = "public, max-age=60"
    return {"keys": [k.public_jwk for k in keys.published_keys(session)]}


@router.get("/v1/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    """Return the caller behind the bearer token: subject, department, roles, token expiry."""
    return MeRead(
        subject=principal.subject,
        kind=principal.kind,
        department=principal.department,
        roles=sorted(principal.roles),
        client_id=principal.client_id,
        token_id=principal.token_id,
        expires_at=principal.expires_at,
    )


@router.post("/v1/systems", response_model=SystemRead, status_code=201)
def create_system(
    data: SystemCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    request: Request,
    response: Response,
) -> SystemRead:
    """Register a department system (接入系统) with its public keys (province_admin)."""
    authz.require(principal, obj="identity", act="write", domain=data.department)
    system = service.register_system(session, data=data)
    _commit_and_reload(session, request)
    response.headers["Location"] = f"/v1/systems/{system.client_id}"
    return service.system_read(system)


@router.get("/v1/systems", response_model=Page[SystemRead])
def list_systems(
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    page: Pagination,
    department: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[SystemStatus | None, Query()] = None,
) -> Page[SystemRead]:
    """List registered systems, optionally of one department or status (province_admin)."""
    authz.require(principal, obj="identity", act="read", domain=department)
    return service.list_systems(session, page=page, department=department, status=status)


@router.get("/v1/systems/{client_id}", response_model=SystemRead)
def get_system(
    client_id: str, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> SystemRead:
    """Return one registered system (province_admin)."""
    authz.require(principal, obj="identity", act="read")
    return service.system_read(service.get_system(session, client_id=client_id))


@router.patch("/v1/systems/{client_id}", response_model=SystemRead)
def update_system(
    client_id: str,
    data: SystemUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    request: Request,
) -> SystemRead:
    """Rename, enable or disable a system, or replace its public keys (province_admin)."""
    authz.require(principal, obj="identity", act="write")
    system = service.update_system(session, client_id=client_id, data=data)
    _commit_and_reload(session, request)
    return service.system_read(system)


def _commit_and_reload(session: DbSession, request: Request) -> None:
    # The authorizer rebuilds from its own session, so the change must be committed first;
    # the request-scoped commit would come only after the response has been sent.
    session.commit()
    request.app.state.authorizer.reload()
