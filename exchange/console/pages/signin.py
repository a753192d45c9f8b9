"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from exchange.console import auth, rules
from exchange.console.i18n import LANGUAGE_COOKIE, LANGUAGES, Translator
from exchange.console.render import ConsoleRoute, language_of, redirect, render
from exchange.core.db import utcnow
from exchange.core.deps import DbSession
from exchange.core.settings import Settings

router = APIRouter(route_class=ConsoleRoute)
Next = Annotated[str | None, Query(max_length=2000)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _form(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    message: str | None = None,
    status: int = 200,
    signed_out: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    token = auth.pre_session_token(request)
    response = render(
        request,
        "signin.html",
        {"next": next_path, "username": username, "message": message, "signed_out": signed_out},
        status=status,
        headers=headers,
    )
    auth.set_pre_session_cookie(response, token, _settings(request))
    return response


@router.get("/login")
def sign_in_page(
    request: Request, session: DbSession, next: Next = None, signed_out: bool = False
) -> Response:
    """Show the sign-in form (or go on, for someone already signed in)."""
    settings = _settings(request)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if auth.viewer_for(session, token=token, settings=settings, now=utcnow()) is not None:
        return redirect(rules.safe_next(next))
    response = _form(request, next_path=rules.safe_next(next), signed_out=signed_out)
    if token:
        auth.clear_session_cookie(response, settings)
    return response


@router.post("/login")
def sign_in(request: Request, session: DbSession, form: auth.CsrfForm) -> Response:
    """Check the name and password; lock the account after repeated failures."""
    settings = _settings(request)
    username = str(form.get("username") or "")[:128]
    password = str(form.get("password") or "")
    next_path = rules.safe_next(str(form.get("next") or ""))
    t = Translator(language_of(request))
    try:
        user = auth.authenticate(
            session, username=username, password=password, settings=settings, now=utcnow()
        )
    except auth.SignInRefused as refused:
        if refused.reason == "locked":
            minutes = settings.console_lockout_minutes
            return _form(
                request,
                next_path=next_path,
                username=username,
                message=t("auth.locked", minutes=minutes),
                status=429,
                headers={"Retry-After": str(minutes * 60)},
            )
        return _form(
            request,
            next_path=next_path,
            username=username,
            message=t("auth.invalid"),
            status=401,
            headers={"WWW-Authenticate": 'FormBased realm="datarun-console"'},
        )
    token = auth.start_session(session, user=user, settings=settings, now=utcnow())
    response = redirect(next_path)
    auth.set_session_cookie(response, token, settings)
    response.delete_cookie(auth.PRE_SESSION_COOKIE, path="/console")
    return response


@router.post("/logout")
def sign_out(
    request: Request, session: DbSession, viewer: auth.ConsoleUser, form: auth.CsrfForm
) -> Response:
    """End the session on the server and remove the cookie."""
    auth.end_session(session, request.cookies.get(auth.SESSION_COOKIE))
    response = redirect("/console/login?signed_out=true")
    auth.clear_session_cookie(response, _settings(request))
    return response


@router.get("/lang/{language}")
def choose_language(request: Request, language: str, next: Next = None) -> Response:
    """Switch the console's language (中文 or English) and go back to the page."""
    response = redirect(rules.safe_next(next))
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            path="/console",
            samesite="lax",
            secure=auth.cookie_secure(_settings(request)),
        )
    return response
