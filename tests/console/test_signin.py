"""Sign-in for people: passwords, session cookie, CSRF, lockout, sign-out, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from catalogs.resources.models import Resource
from exchange.cli import app as datarun
from exchange.console.auth import SESSION_COOKIE, cookie_secure
from exchange.console.models import ConsoleSession
from exchange.core.db import utcnow
from exchange.core.settings import Settings, get_settings
from exchange.identity.models import User
from tests.console.support import PASSWORD, csrf_of, person, sign_in


def _user(db: Session, username: str) -> User:
    db.expire_all()
    found = db.scalars(select(User).where(User.username == username)).one()
    return found


def _post_login(client: TestClient, username: str, password: str, **extra: str):
    page = client.get("/console/login")
    data = {"username": username, "password": password, "csrf_token": csrf_of(page.text)}
    return client.post("/console/login", data={**data, **extra}, follow_redirects=False)


def test_a_page_sends_a_signed_out_browser_to_sign_in_and_back(
    client: TestClient, db: Session
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    response = client.get("/console/catalogue?q=户籍", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=%2Fconsole%2Fcatalogue")
    login = _post_login(client, "li.hua", PASSWORD, next="/console/catalogue?q=户籍")
    assert login.status_code == 303
    assert unquote(login.headers["location"]) == "/console/catalogue?q=户籍"


def test_the_session_cookie_is_httponly_lax_and_stores_only_a_digest(
    client: TestClient, db: Session
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    response = _post_login(client, "li.hua", PASSWORD)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    token = client.cookies[SESSION_COOKIE]
    stored = db.scalars(select(ConsoleSession.id)).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_the_cookie_is_secure_outside_development(app: FastAPI, db: Session) -> None:
    assert cookie_secure(Settings(environment="development")) is False
    assert cookie_secure(Settings(environment="test")) is True
    assert cookie_secure(Settings(environment="test", console_cookie_secure=False)) is False
    app.state.settings = app.state.settings.model_copy(update={"console_cookie_secure": None})
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    with TestClient(app, base_url="https://testserver") as https:
        response = _post_login(https, "li.hua", PASSWORD)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "Secure" in cookie
        assert https.get("/console/", follow_redirects=False).status_code == 200


def test_a_wrong_password_is_refused_and_counted(client: TestClient, db: Session) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    response = _post_login(client, "li.hua", "not the password at all")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in client.cookies
    assert _user(db, "li.hua").failed_sign_ins == 1
    assert client.get("/console/", follow_redirects=False).status_code == 303
    # An unknown name reads exactly the same.
    unknown = _post_login(client, "nobody", "not the password at all")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


def test_repeated_failures_lock_the_account_for_the_configured_minutes(
    client: TestClient, db: Session
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    for _ in range(2):
        assert _post_login(client, "li.hua", "wrong password again").status_code == 401
    third = _post_login(client, "li.hua", "wrong password again")
    assert third.status_code == 429 and "15 分钟" in third.text
    assert third.headers["retry-after"] == "900"
    # While locked, even the right password is refused.
    assert _post_login(client, "li.hua", PASSWORD).status_code == 429
    user = _user(db, "li.hua")
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=14)
    # Once the lock has run out, the right password works and the count starts again.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    assert _post_login(client, "li.hua", PASSWORD).status_code == 303
    assert _user(db, "li.hua").failed_sign_ins == 0


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    # The sign-in form itself.
    client.get("/console/login")
    refused = client.post("/console/login", data={"username": "li.hua", "password": PASSWORD})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert SESSION_COOKIE not in client.cookies
    csrf = sign_in(client, "li.hua")
    form = {
        "code": "301001001/000009",
        "name": "测试资源",
        "provider": "zj-gat",
        "format": "database",
        "share_type": "unconditional",
        "share_method": "api",
        "open_type": "closed",
        "update_cycle": "daily",
        "item_rows": "1",
        "item-0-code": "id_number",
        "item-0-name": "公民身份号码",
        "item-0-data_type": "C",
    }
    for bad in ({}, {"csrf_token": "0" * 64}, {"csrf_token": csrf[:-1]}):
        response = client.post("/console/catalogue/new", data={**form, **bad})
        assert response.status_code == 403 and "CSRF" in response.text
    assert db.scalar(select(func.count()).select_from(Resource)) == 0
    # With the token (form field or the htmx header) the same post goes through.
    ok = client.post(
        "/console/catalogue/new", data=form, headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    # Signing out needs the token too.
    assert client.post("/console/logout").status_code == 403
    assert client.get("/console/", follow_redirects=False).status_code == 200


def test_sign_out_ends_the_session_on_the_server(client: TestClient, db: Session) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    csrf = sign_in(client, "li.hua")
    token = client.cookies[SESSION_COOKIE]
    response = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(ConsoleSession)) == 0
    # A copy of the old cookie opens nothing.
    client.cookies.set(SESSION_COOKIE, token, path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_an_idle_or_disabled_session_ends(client: TestClient, db: Session) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    sign_in(client, "li.hua")
    row = db.scalars(select(ConsoleSession)).one()
    row.last_seen_at = utcnow() - timedelta(hours=2)
    db.commit()
    assert client.get("/console/", follow_redirects=False).status_code == 303
    sign_in(client, "li.hua")
    user = _user(db, "li.hua")
    user.status = "disabled"
    db.commit()
    assert client.get("/console/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/v1/me",
        "/console/../v1/me",
        "javascript:alert(1)",
    ],
)
def test_sign_in_never_redirects_off_the_console(
    client: TestClient, db: Session, target: str
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    response = _post_login(client, "li.hua", PASSWORD, next=target)
    assert response.headers["location"] == "/console/"


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATARUN_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_sets_a_password_and_unlocks(
    client: TestClient, db: Session, cli_env: None
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    runner = CliRunner()
    short = runner.invoke(
        datarun, ["users", "set-password", "li.hua", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    done = runner.invoke(
        datarun,
        ["users", "set-password", "li.hua", "--password-stdin"],
        input="another good pass phrase\n",
    )
    assert done.exit_code == 0, done.output
    stored = _user(db, "li.hua").password_hash or ""
    assert stored.startswith("$argon2id$")
    assert _post_login(client, "li.hua", PASSWORD).status_code == 401
    assert _post_login(client, "li.hua", "another good pass phrase").status_code == 303
    user = _user(db, "li.hua")
    user.locked_until = utcnow() + timedelta(minutes=10)
    db.commit()
    assert runner.invoke(datarun, ["users", "unlock", "li.hua"]).exit_code == 0
    assert _user(db, "li.hua").locked_until is None
    missing = runner.invoke(
        datarun,
        ["users", "set-password", "nobody", "--password-stdin"],
        input="another good pass phrase\n",
    )
    assert missing.exit_code == 1 and "no user nobody" in missing.output
