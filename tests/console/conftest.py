"""Console tests: the hub on a test database, with cookies a plain-HTTP client keeps."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.bindings.pool import ConnectorPool
from exchange.core.settings import Settings
from exchange.demo.seed import SeedResult
from exchange.demo.sources.http_department import BackgroundServer
from exchange.identity import repository as identity_repository
from tests.console.support import password_hash, sign_in
from tests.fixtures.servers import IN_CI

DEMO_PEOPLE = ("gat-admin", "mzt-admin", "zrzyt-admin", "province-admin", "auditor")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings; the session cookie drops Secure so the HTTP test client sends it back."""
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "var",
        issuer="http://testserver",
        console_cookie_secure=False,
        console_lockout_attempts=3,
        console_lockout_minutes=15,
    )


@pytest.fixture
def demo_people(db: Session, demo_province: SeedResult) -> tuple[str, ...]:
    """The demo province with console passwords for its administrators and auditor."""
    for username in DEMO_PEOPLE:
        user = identity_repository.user_by_username(db, username)
        assert user is not None
        user.password_hash = password_hash()  # the same hash for all: made once
    db.commit()
    return DEMO_PEOPLE


@pytest.fixture
def as_person(app: FastAPI, demo_people: tuple[str, ...]) -> Callable[[str], TestClient]:
    """Return ``as_person(username)``: a client of its own, signed in as that demo person."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        client.csrf = sign_in(client, username)  # type: ignore[attr-defined]
        return client

    yield make  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def live_sources(app: FastAPI, demo_bound: Settings) -> Settings:
    """Let the hub's connectors read the demo departments' data (as in tests/records)."""
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, demo_bound)
    return demo_bound


# ---- a real browser against a real server --------------------------------------------------

CHROMIUM = Path(os.environ.get("DATARUN_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT_DIR = os.environ.get("DATARUN_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser), headless.

    Locally a missing chromium skips the browser tests with the reason; under CI=true it
    fails them (.ci/run installs the package). Module scope, not session: Playwright's sync
    API keeps an event loop running in the thread while it is open, and tests elsewhere
    that call ``asyncio.run`` in the same worker must not find one.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: apt-get install chromium (or set DATARUN_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """Serve the test hub with uvicorn on a free loopback port; return its base URL."""
    server = BackgroundServer(app)
    port = server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class Screens:
    """Saves screenshots of console pages: always under the test's tmp_path, and into
    ``$DATARUN_SCREENSHOTS`` (e.g. docs/screenshots) when that is set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.saved: list[Path] = []

    def take(self, page: Any, name: str, full_page: bool = False) -> Path:
        """Screenshot ``page`` as ``<name>.png``; return the file written under tmp_path."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if SCREENSHOT_DIR:
            target = Path(SCREENSHOT_DIR)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)
        self.saved.append(path)
        return path


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    """Where the browser tests keep their screenshots."""
    return Screens(tmp_path / "screenshots")


@pytest.fixture
def browser_page(chromium: Any, live_url: str) -> Iterator[Any]:
    """A fresh browser context (its own cookies) on the live hub, in Chinese, 1280×800.

    It collects console errors: a page that breaks its Content-Security-Policy fails the test.
    """
    context = chromium.new_context(
        base_url=live_url,
        locale="zh-CN",
        viewport={"width": 1280, "height": 800},
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
