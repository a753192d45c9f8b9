"""The connector pool: one live connector per binding, rebuilt when the binding changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource
from connectors.resilience import ResilientConnector
from connectors.testing.sample import PEOPLE_KEYS, RESOURCE_CODE
from exchange.bindings import service
from exchange.bindings.errors import NotBound
from exchange.bindings.pool import ConnectorPool
from exchange.bindings.schemas import BindingWrite
from tests.bindings.conftest import body


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _bind(db: Session, app: FastAPI, path: Path, **overrides: object) -> None:
    service.put_binding(
        db,
        code=RESOURCE_CODE,
        data=BindingWrite(**body(path, **overrides)),
        settings=app.state.settings,
    )
    db.commit()


def test_pool_builds_once_follows_other_processes_and_closes(
    app: FastAPI, db: Session, people_resource: Resource, department_db: Path
) -> None:
    clock = Clock()
    pool = ConnectorPool(app.state.sessionmaker, app.state.settings, refresh_seconds=5, clock=clock)

    async def scenario() -> None:
        with pytest.raises(NotBound):
            await pool.get(RESOURCE_CODE)
        _bind(db, app, department_db, resilience={"retries": 0, "deadline_seconds": 2})
        first = await pool.get(RESOURCE_CODE)
        assert isinstance(first, ResilientConnector)
        assert first.policy.retries == 0
        result = await first.lookup([PEOPLE_KEYS[1]], ["name", "birth_date"])
        assert result.records[0]["name"] == "王芳"
        assert await pool.get(RESOURCE_CODE) is first

        # Another hub process edits the binding: this one notices after refresh_seconds.
        _bind(db, app, department_db, columns={"id_number": "sfzh", "name": "xm"})
        assert await pool.get(RESOURCE_CODE) is first
        clock.now += 6
        second = await pool.get(RESOURCE_CODE)
        assert second is not first
        clock.now += 6
        assert await pool.get(RESOURCE_CODE) is second  # unchanged binding: kept

        # Disabled: no connector, and the old one is retired.
        _bind(db, app, department_db, enabled=False)
        pool.invalidate(RESOURCE_CODE)
        with pytest.raises(NotBound):
            await pool.get(RESOURCE_CODE)
        await pool.close()
        assert pool.cached() == {}

    asyncio.run(scenario())


def test_concurrent_first_gets_share_one_connector(
    app: FastAPI, db: Session, people_resource: Resource, department_db: Path
) -> None:
    _bind(db, app, department_db)
    pool = ConnectorPool(app.state.sessionmaker, app.state.settings)

    async def scenario() -> None:
        got = await asyncio.gather(*(pool.get(RESOURCE_CODE) for _ in range(10)))
        assert len({id(c) for c in got}) == 1
        await pool.close()

    asyncio.run(scenario())


def test_pulls_arriving_while_the_binding_is_read_wait_for_that_one_read(
    app: FastAPI, db: Session, people_resource: Resource, department_db: Path
) -> None:
    """After refresh_seconds, 32 concurrent pulls cause one read of the binding, not 32."""
    _bind(db, app, department_db)
    clock = Clock()
    pool = ConnectorPool(app.state.sessionmaker, app.state.settings, refresh_seconds=5, clock=clock)
    reads: list[str] = []
    load = pool._load

    def counted(code: str) -> object:
        reads.append(code)
        return load(code)

    pool._load = counted  # type: ignore[method-assign,assignment]

    async def scenario() -> None:
        first = await pool.get(RESOURCE_CODE)
        clock.now += 6
        got = await asyncio.gather(*(pool.get(RESOURCE_CODE) for _ in range(32)))
        assert {id(c) for c in got} == {id(first)}  # unchanged binding: the same connector
        assert reads == [RESOURCE_CODE, RESOURCE_CODE]
        # A caller that gives up does not cut the read the others wait for.
        clock.now += 6
        quitter = asyncio.ensure_future(pool.get(RESOURCE_CODE))
        stayer = asyncio.ensure_future(pool.get(RESOURCE_CODE))
        await asyncio.sleep(0)
        quitter.cancel()
        assert await stayer is first
        assert len(reads) == 3
        await pool.close()

    asyncio.run(scenario())
