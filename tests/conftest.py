"""Test harness: each test gets a hub built by ``alembic upgrade head`` on a real database.

SQLite always; the real PostgreSQL too when ``DATARUN_TEST_POSTGRES_URL`` is set (and under
``CI=true`` its absence fails the run rather than skipping).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# A serving hub freezes its startup heap for the garbage collector (exchange/core/heap.py);
# in the test process that would keep every test's app alive to the end of the run.
# tests/core/test_heap.py turns it on where it is tested.
os.environ.setdefault("DATARUN_GC_TUNING", "false")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from exchange.app import create_app
from exchange.core.db import Base, make_engine
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings

pytest_plugins = ["tests.fixtures.factories", "tests.fixtures.auth", "tests.fixtures.demo"]

POSTGRES_URL = os.environ.get("DATARUN_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but DATARUN_TEST_POSTGRES_URL is not set")


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite hub database migrated to head once per session, copied per test."""
    path = tmp_path_factory.mktemp("template") / "hub.db"
    upgrade(f"sqlite:///{path}")
    return path


def _worker_suffix() -> str:
    # The pid keeps concurrent pytest runs (and xdist workers) on databases of their own.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this worker's own, migrated to head once."""
    if not POSTGRES_URL:
        pytest.skip("DATARUN_TEST_POSTGRES_URL not set")
    admin_url = make_url(POSTGRES_URL)
    name = f"datarun_test_{_worker_suffix()}"
    admin = make_engine(
        admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    # policy_state holds the one row the migration seeds: reset it rather than empty it.
    tables = ", ".join(
        f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name != "policy_state"
    )
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE policy_state SET version = 0"))
    engine.dispose()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty hub database for one test: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hub.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
    else:
        url: str = request.getfixturevalue("postgres_database")
        yield url
        _truncate_postgres(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test hub on the test database."""
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "var",
        issuer="http://testserver",
        # The background sweeps would change rows a test set up to sweep itself (tests/sweeps).
        sweep_interval_seconds=0,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """A hub application on the test database."""
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the test hub."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the test hub's database (commit to make rows visible to the app)."""
    session: Session = app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()
