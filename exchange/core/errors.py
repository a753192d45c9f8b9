"""Typed domain errors and the one handler that turns them into RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """Base of every error a service raises; carries its HTTP status and problem type.

    ``detail`` is the API's words (English, in the problem document). ``message_key`` and
    ``message_params`` are the same refusal for people: a key of the console's message
    catalogue (``exchange/console/messages``, e.g. ``refusal.grants.not_pending``) and the
    values its text names; the console shows it in the viewer's language (zh-CN by
    default) and falls back to ``detail`` where a refusal has no key.
    """

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        message_key: str | None = None,
        message_params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.message_key = message_key
        self.message_params = dict(message_params or {})
        self.extra = extra


class InvalidInput(DomainError):
    status, type_slug, title = 422, "invalid-input", "Invalid input"


class NotFound(DomainError):
    status, type_slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, type_slug, title = 409, "conflict", "Conflict"


class Unauthorized(DomainError):
    status, type_slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str, *, error: str = "invalid_token", **kw: Any) -> None:
        challenge = f'Bearer realm="datarun", error="{error}", error_description="{detail}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge}, **kw)


class Forbidden(DomainError):
    status, type_slug, title = 403, "forbidden", "Forbidden"


class PayloadTooLarge(DomainError):
    status, type_slug, title = 413, "payload-too-large", "Payload too large"


class ServiceUnavailable(DomainError):
    status, type_slug, title = 503, "service-unavailable", "Service unavailable"


def problem(
    request: Request,
    *,
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"https://datarun.zj.gov.cn/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(loc: Iterable[Any], *, empty: str = "body") -> str:
    """Render a validation location as the services name fields: ``items[2].code``.

    ``empty`` names the whole input when the location is empty (``body``, or ``form`` in the
    console).
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path = f"{path}[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or empty


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    # List positions render as "items[2].data_type", like the services' own field errors;
    # a bare position (malformed JSON's character offset) names the body itself.
    path = ""
    for p in loc:
        if p in ("body", "query", "path", "header"):
            continue
        if isinstance(p, int):
            path = f"{path}[{p}]" if path else ""
        else:
            path = f"{path}.{p}" if path else str(p)
    return path or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Register the one place that maps errors to problem responses."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            request,
            status=exc.status,
            type_slug=exc.type_slug,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "type": e["type"]}
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(
            request,
            status=422,
            type_slug="invalid-input",
            title="Invalid input",
            detail=f"invalid value for: {fields}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(
            request,
            status=exc.status_code,
            type_slug=slug,
            title=str(exc.detail) if exc.status_code != 404 else "Not found",
            detail=str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("datarun.errors").exception("unhandled error", exc_info=exc)
        return problem(
            request,
            status=500,
            type_slug="internal-error",
            title="Internal error",
            detail="an unexpected error occurred; quote the request id to the operators",
        )
