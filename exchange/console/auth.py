"""People's sign-in: passwords with lockout, server-side sessions, CSRF, the current viewer.

The session cookie carries a random token (HttpOnly, SameSite=Lax, Secure outside
development); the database keeps only its SHA-256, so a copy of the table signs nobody in.
Every form carries a CSRF token: an HMAC of the session token (or, before sign-in, of a
pre-session cookie) under the hub secret, checked on every POST.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from exchange.console import passwords, repository, rules
from exchange.core.db import utcnow
from exchange.core.deps import DbSession
from exchange.core.errors import Forbidden
from exchange.core.settings import Settings
from exchange.identity.authz import Authorizer
from exchange.identity.models import User
from exchange.identity.principal import Principal

SESSION_COOKIE = "datarun_console"
PRE_SESSION_COOKIE = "datarun_console_pre"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# last_seen_at is written at most this often, so a busy page does not write on every request.
_TOUCH_EVERY = timedelta(minutes=1)


class SignInRequired(Exception):
    """The page needs a signed-in person; the console redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class SignInRefused(Exception):
    """A sign-in failed: ``reason`` is ``invalid`` (wrong name or password) or ``locked``."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


@dataclass(frozen=True)
class Viewer:
    """The person signed in to the console, as the pages and the services see them."""

    username: str
    display_name: str
    department: str
    department_name: str
    roles: frozenset[str]
    principal: Principal
    csrf: str

    def has_role(self, role: str) -> bool:
        """Return whether the person holds ``role``."""
        return role in self.roles


def secret_of(settings: Settings) -> str:
    """Return the hub secret the console's CSRF tokens are keyed with."""
    return settings.secret_key.get_secret_value()


def cookie_secure(settings: Settings) -> bool:
    """Return whether console cookies carry ``Secure`` (outside development by default)."""
    if settings.console_cookie_secure is not None:
        return settings.console_cookie_secure
    return settings.environment != "development"


def authenticate(
    session: Session, *, username: str, password: str, settings: Settings, now: datetime
) -> User:
    """Return the active user whose password this is; count failures and lock (SignInRefused)."""
    user = repository.user_for_sign_in(session, username.strip())
    if user is not None and rules.is_locked(user.locked_until, now):
        raise SignInRefused("locked", user.locked_until)
    stored = user.password_hash if user is not None and user.status == "active" else None
    if not passwords.verify_password(stored, password) or user is None:
        if user is not None:
            user.failed_sign_ins, locked = rules.after_failure(
                user.failed_sign_ins,
                now,
                attempts=settings.console_lockout_attempts,
                minutes=settings.console_lockout_minutes,
            )
            if locked is not None:
                user.locked_until = locked
                session.flush()
                raise SignInRefused("locked", locked)
            session.flush()
        raise SignInRefused("invalid")
    user.failed_sign_ins, user.locked_until, user.last_sign_in_at = 0, None, now
    if passwords.needs_rehash(stored or ""):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return user


def start_session(session: Session, *, user: User, settings: Settings, now: datetime) -> str:
    """Open a session for ``user`` and return the token its cookie carries."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.console_session_hours)
    repository.add_session(
        session, digest=rules.token_digest(token), user=user, now=now, expires_at=expires
    )
    return token


def end_session(session: Session, token: str | None) -> None:
    """Sign the session with ``token`` out (nothing happens for an unknown token)."""
    if token:
        repository.delete_session(session, rules.token_digest(token))


def viewer_for(
    session: Session, *, token: str | None, settings: Settings, now: datetime
) -> Viewer | None:
    """Return the viewer of a live session, or None (unknown, expired, idle or user disabled)."""
    if not token:
        return None
    found = repository.session_by_digest(session, rules.token_digest(token))
    if found is None:
        return None
    idle = timedelta(minutes=settings.console_session_idle_minutes)
    user = found.user
    if now >= found.expires_at or now - found.last_seen_at > idle or user.status != "active":
        repository.delete_session(session, found.id)
        return None
    if now - found.last_seen_at > _TOUCH_EVERY:
        found.last_seen_at = now
        session.flush()
    roles = frozenset(str(r) for r in user.roles)
    principal = Principal(
        subject=f"user:{user.username}",
        kind="user",
        department=user.department.code,
        roles=roles,
        token_id=f"console:{found.id[:16]}",
    )
    return Viewer(
        username=user.username,
        display_name=user.display_name,
        department=user.department.code,
        department_name=user.department.name,
        roles=roles,
        principal=principal,
        csrf=rules.csrf_token(secret_of(settings), token),
    )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Give the browser its session cookie (HttpOnly, SameSite=Lax, Secure outside dev)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.console_session_hours * 3600),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
    )


def pre_session_token(request: Request) -> str:
    """Return the signed-out browser's CSRF binding, making one if it has none yet."""
    token = request.cookies.get(PRE_SESSION_COOKIE)
    if not token or len(token) > 128:
        token = secrets.token_urlsafe(32)
    request.state.pre_session_token = token
    return token


def set_pre_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Keep the signed-out browser's CSRF binding (for the sign-in form)."""
    response.set_cookie(
        PRE_SESSION_COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(settings),
    )


# ---- dependencies ----------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_viewer(request: Request, session: DbSession) -> Viewer:
    """Return the signed-in viewer, or send the browser to the sign-in page."""
    viewer = viewer_for(
        session,
        token=request.cookies.get(SESSION_COOKIE),
        settings=_settings(request),
        now=utcnow(),
    )
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/console/")
    request.state.viewer = viewer
    return viewer


async def checked_form(request: Request) -> FormData:
    """Read the posted form and refuse it (403) unless it carries this browser's CSRF token."""
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    secret = secret_of(_settings(request))
    # Either cookie binds the token to this browser: both are random and HttpOnly.
    bindings = (request.cookies.get(SESSION_COOKIE), request.cookies.get(PRE_SESSION_COOKIE))
    if not isinstance(given, str) or not any(
        rules.csrf_matches(secret, b, given) for b in bindings
    ):
        raise Forbidden("csrf")
    return form


def get_authorizer(request: Request) -> Authorizer:
    """Return the app's casbin authorizer."""
    authorizer: Authorizer = request.app.state.authorizer
    return authorizer


ConsoleUser = Annotated[Viewer, Depends(current_viewer)]
CsrfForm = Annotated[FormData, Depends(checked_form)]
ConsoleAuthz = Annotated[Authorizer, Depends(get_authorizer)]
