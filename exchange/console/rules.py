"""Pure rules of the console's sign-in: lockout, CSRF tokens, safe redirects, form errors.

Nothing here touches a session or the clock (``now`` is passed in), so each rule is tested
without a database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from exchange.core import errors

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_NEXT_RE = re.compile(r"^/console(?:/[^\s\\]*)?(?:\?[^\s\\]*)?$")


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """Return whether an account locked until ``locked_until`` is still locked at ``now``."""
    return locked_until is not None and now < locked_until


def after_failure(
    failed: int, now: datetime, *, attempts: int, minutes: int
) -> tuple[int, datetime | None]:
    """Return (failed count, locked until) after one more failed sign-in.

    The ``attempts``-th failure in a row locks the account for ``minutes`` and starts the
    count again, so each lock needs as many fresh failures.
    """
    failed += 1
    if failed >= attempts:
        return 0, now + timedelta(minutes=minutes)
    return failed, None


def password_problems(password: str, username: str) -> list[str]:
    """Return why ``password`` is not acceptable for ``username`` (empty when it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        problems.append("no leading or trailing spaces")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    return problems


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest a session token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(secret: str, binding: str) -> str:
    """Return the CSRF token of a session (or a signed-out browser) bound by ``binding``."""
    mac = hmac.new(secret.encode("utf-8"), f"console-csrf:{binding}".encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(secret: str, binding: str | None, given: str | None) -> bool:
    """Return whether ``given`` is the CSRF token for ``binding`` (constant-time compare)."""
    if not binding or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), given)


def safe_next(target: str | None, default: str = "/console/") -> str:
    """Return ``target`` if it is a path of this console, else ``default`` (no open redirect)."""
    if target and _NEXT_RE.match(target) and "//" not in target and ".." not in target:
        return target
    return default


def field_path(loc: Iterable[Any]) -> str:
    """Render a validation location as the services do: ``items[2].code`` (``form`` if empty)."""
    return errors.field_path(loc, empty="form")


def errors_by_field(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Group ``[{"field": ..., "message": ...}]`` by field, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        field = str(error.get("field") or "form")
        grouped.setdefault(field, []).append(str(error.get("message", "")))
    return grouped


def place_errors(
    errors: Iterable[Mapping[str, Any]], fields: Iterable[str]
) -> dict[str, list[str]]:
    """Group errors by the form field that shows them (``items[2]`` → ``items``).

    An error naming no field of the form is shown with the form's own errors, its field
    named, so no error is ever lost.
    """
    known = set(fields)
    placed: dict[str, list[str]] = {}
    for error in errors:
        field = str(error.get("field") or "form")
        base = re.sub(r"[\[.].*$", "", field)
        message = str(error.get("message", ""))
        if base in known:
            placed.setdefault(base, []).append(message)
        else:
            shown = message if field == "form" else f"{field}: {message}"
            placed.setdefault("form", []).append(shown)
    return placed
