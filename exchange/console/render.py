"""Rendering: one Jinja2 environment (autoescaped), the layout's context, error pages.

Every page goes through ``render``: it adds the translator, the navigation the viewer's
roles allow, the CSRF token and the security headers (a strict Content-Security-Policy:
scripts and styles only from the console itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from exchange.console import auth, rules
from exchange.console.i18n import LANGUAGE_COOKIE, LANGUAGES, Translator, pick_language
from exchange.core.errors import DomainError
from exchange.identity.authz import Authorizer

log = logging.getLogger("datarun.console")
TEMPLATES = Path(__file__).with_name("templates")
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Section:
    """One entry of the navigation, shown when the viewer may ``act`` on ``obj``."""

    key: str
    path: str
    obj: str | None = None
    act: str = "read"


SECTIONS = (
    Section("home", "/console/"),
    Section("catalogue", "/console/catalogue", "catalog"),
    Section("onethings", "/console/one-things", "catalog"),
    Section("grants", "/console/grants", "grant"),
    Section("connectors", "/console/connectors", "binding"),
    Section("audit", "/console/audit", "audit"),
    Section("objections", "/console/objections", "objection"),
    Section("supervision", "/console/supervision", "supervision"),
)


def local_time(value: datetime | None, with_seconds: bool = False) -> str:
    """Format an aware datetime in China time (the console's clock)."""
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime(
        "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    )


def _iso_day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["day"] = _iso_day
    env.filters["zip_labels"] = lambda values, t, group: [(v, t.label(group, v)) for v in values]
    env.globals["urlencode"] = lambda params: urlencode(
        {k: v for k, v in params.items() if v not in (None, "", False)}, doseq=True
    )
    return env


ENV = _environment()


def language_of(request: Request) -> str:
    """Return the viewer's chosen language (a cookie), Simplified Chinese by default."""
    return pick_language(request.cookies.get(LANGUAGE_COOKIE))


def navigation(viewer: auth.Viewer | None, authz: Authorizer, enabled: set[str]) -> list[Section]:
    """Return the sections ``viewer`` may open (none when signed out)."""
    if viewer is None:
        return []
    return [
        s
        for s in SECTIONS
        if s.key in enabled
        and (s.obj is None or authz.allowed(viewer.principal, obj=s.obj, act=s.act))
    ]


def context(request: Request, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return what every template can use: t, the viewer, navigation, csrf, language."""
    viewer: auth.Viewer | None = getattr(request.state, "viewer", None)
    lang = language_of(request)
    if viewer is not None:
        csrf = viewer.csrf
    else:
        csrf = rules.csrf_token(
            auth.secret_of(request.app.state.settings),
            getattr(request.state, "pre_session_token", None) or "",
        )
    enabled: set[str] = getattr(request.app.state, "console_sections", set())
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "request": request,
        "t": Translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "viewer": viewer,
        "nav": navigation(viewer, request.app.state.authorizer, enabled),
        "csrf": csrf,
        "here": here,
        "quote": lambda s: quote(str(s), safe=""),
        **(extra or {}),
    }


def render(
    request: Request,
    template: str,
    extra: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` as a full page."""
    html = ENV.get_template(template).render(context(request, extra))
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def stream(
    request: Request, template: str, extra: Mapping[str, Any] | None = None
) -> StreamingResponse:
    """Render ``template`` progressively: each loop over a generator reaches the browser."""
    chunks: Iterator[str] = ENV.get_template(template).generate(context(request, extra))
    return StreamingResponse(
        (c.encode("utf-8") for c in chunks),
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
    )


def refusal(request: Request, exc: Exception) -> str:
    """Return a service's refusal in the viewer's language (``Translator.refusal``)."""
    return Translator(language_of(request)).refusal(exc)


def error_page(request: Request, status: int, detail: str | None = None) -> HTMLResponse:
    """Render the error page for ``status`` (403, 404, 409, 422, ...)."""
    return render(request, "error.html", {"status": status, "detail": detail}, status=status)


def redirect(path: str) -> RedirectResponse:
    """Answer a form post with a redirect to the page showing its result (303 See Other)."""
    return RedirectResponse(path, status_code=303)


class ConsoleRoute(APIRoute):
    """A console route: errors become pages and a signed-out browser goes to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except auth.SignInRequired as exc:
                return redirect(f"/console/login?next={quote(exc.next_path, safe='')}")
            except DomainError as exc:
                # A 403 names no rule the caller lacks; a refused CSRF token says so.
                if exc.status != 403:
                    detail: str | None = refusal(request, exc)
                else:
                    detail = "csrf" if exc.detail == "csrf" else None
                return error_page(request, exc.status, detail)
            except RequestValidationError as exc:
                fields = ", ".join(
                    sorted({rules.field_path(e.get("loc", ())[1:]) for e in exc.errors()})
                )
                return error_page(request, 422, fields)
            except Exception:
                log.exception("console page failed: %s", request.url.path)
                return error_page(request, 500)

        return handler
