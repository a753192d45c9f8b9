"""Helpers for the console tests: people with passwords, signing in, reading forms."""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.console.accounts import set_password
from exchange.console.passwords import hash_password
from tests.fixtures.factories import create_user

PASSWORD = "a long enough pass phrase"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@lru_cache
def password_hash() -> str:
    """Return an argon2id hash of PASSWORD, made once (hashing costs ~0.5 s by design)."""
    return hash_password(PASSWORD)


def person(
    session: Session,
    username: str,
    *,
    department: str,
    roles: list[str],
    password: str = PASSWORD,
) -> str:
    """Register a person with a console password (committed); return the password."""
    user = create_user(session, username, department=department, roles=roles)
    if password == PASSWORD:
        user.password_hash = password_hash()
    else:
        set_password(session, username=username, password=password)
    session.commit()
    return password


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return unescape(found.group(1))


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; return the session's CSRF token."""
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/console/").text)
