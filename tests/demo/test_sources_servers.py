"""公安 in PostgreSQL and 民政 in MariaDB, when the demo is pointed at real servers.

Uses ``DATARUN_TEST_POSTGRES_URL`` / ``DATARUN_TEST_MYSQL_URL`` (a database of this run's
own is created on each); under ``CI=true`` a missing URL fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors import registry
from connectors.base import Binding, LookupResult
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import binding_body, load_bindings
from exchange.demo.sources.generate import Sources, ensure_sources
from exchange.demo.sources.store import read_marker
from tests.fixtures.servers import server_url

PEOPLE = 80


def _own_database(variable: str, create: str, drop: str) -> Iterator[str]:
    admin_url = make_url(server_url(variable))
    name = f"demo_src_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create.format(name=name)))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _own_database(
        "DATARUN_TEST_POSTGRES_URL",
        'CREATE DATABASE "{name}"',
        'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
    )


@pytest.fixture
def mysql_url() -> Iterator[str]:
    yield from _own_database(
        "DATARUN_TEST_MYSQL_URL",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`",
    )


def _lookup(sources: Sources, code: str, key: str, items: list[str]) -> LookupResult:
    spec = next(s for s in load_bindings() if s.resource == code)
    body = binding_body(spec, sources, None)
    assert body is not None
    config = registry.parse_config(body.adapter, dict(body.config))
    binding = Binding(code, body.adapter, config, spec.key_item, spec.columns)

    async def go() -> LookupResult:
        connector = registry.build(binding)
        try:
            return await connector.lookup([key], items)
        finally:
            await connector.close()

    return asyncio.run(go())


def _check_server_department(
    tmp_path: Path,
    url: str,
    department: str,
    kind: str,
    generate: Callable[..., Sources],
) -> Sources:
    sources = generate(tmp_path)
    assert sources.generated
    assert sources.manifest["departments"][department]["store"] == kind
    # The manifest (a file under var/) names the server without its password.
    shown = make_url(url).render_as_string(hide_password=True)
    assert sources.manifest["departments"][department]["url"] == shown
    for key, entry in sources.manifest["datasets"].items():
        if entry["department"] == department and entry["store"] == "db":
            assert sources.location(key) == (kind, url)
    assert read_marker(url) == sources.root.name
    again = generate(tmp_path)
    assert not again.generated  # the server holds this generation: reused
    return sources


def test_public_security_lives_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    def generate(root: Path) -> Sources:
        return ensure_sources(root, people=PEOPLE, postgres_url=postgres_url)

    sources = _check_server_department(tmp_path, postgres_url, "zj-gat", "postgresql", generate)
    result = _lookup(sources, "301001001/000001", cast.SELLER_ID, ["name", "household_address"])
    assert result.records == [
        {"id_number": cast.SELLER_ID, "name": "陈建国", "household_address": cast.PROPERTY_ADDRESS}
    ]
    # Another generation in the same database replaces the tables and the marker.
    other = ensure_sources(tmp_path, people=PEOPLE, seed=5, postgres_url=postgres_url)
    assert other.generated and read_marker(postgres_url) == other.root.name


def test_civil_affairs_lives_in_mariadb(tmp_path: Path, mysql_url: str) -> None:
    def generate(root: Path) -> Sources:
        return ensure_sources(root, people=PEOPLE, mysql_url=mysql_url)

    sources = _check_server_department(tmp_path, mysql_url, "zj-mzt", "mysql", generate)
    result = _lookup(sources, "302001001/000001", cast.SELLER_ID, ["spouse_name", "registered_on"])
    assert [r["spouse_name"] for r in result.records] == ["沈丽华"]
    assert str(result.records[0]["registered_on"]) == "2005-10-01"
