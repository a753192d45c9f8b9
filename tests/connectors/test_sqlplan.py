"""The SQL adapter's compiled lookups: direct on the DBAPI cursor, or through SQLAlchemy."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import bindparam, column, select, table
from sqlalchemy.dialects import mssql, postgresql, sqlite
from sqlalchemy.types import String

from connectors.adapters.sql import SqlConfig, SqlConnector
from connectors.adapters.sqlplan import LookupPlan
from connectors.base import Binding


def _connector(tmp_path: Path) -> SqlConnector:
    path = tmp_path / "dept.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (id TEXT PRIMARY KEY, income NUMERIC, born DATE)")
        conn.execute("INSERT INTO people VALUES ('a', 12.5, '1990-01-02'), ('b', NULL, NULL)")
    binding = Binding(
        resource_code="x/1",
        adapter="sql",
        key_item="id",
        columns={"id": "id", "income": "income", "born": "born"},
        config=SqlConfig(url=SecretStr(f"sqlite:///{path}"), table="people"),
    )
    return SqlConnector(binding)


def test_both_paths_give_the_same_typed_records(tmp_path: Path) -> None:
    connector = _connector(tmp_path)
    columns = ("id", "income", "born")

    async def lookup() -> list[dict[str, object]]:
        return (await connector.lookup(["b", "a", "zz"], list(columns))).records

    direct = asyncio.run(lookup())
    assert direct == [
        {"id": "b", "income": None, "born": None},
        {"id": "a", "income": Decimal("12.5"), "born": date(1990, 1, 2)},
    ]
    for plan in connector._plans.values():
        plan.direct = False  # as for a dialect that needs SQLAlchemy's execution
    assert asyncio.run(lookup()) == direct
    asyncio.run(connector.close())


def test_only_statements_rendered_at_execution_go_through_sqlalchemy() -> None:
    people = table("people", column("id", String), column("name", String))
    keys = [bindparam(f"key_{i}", None, type_=String()) for i in range(2)]
    statement = select(*people.c).where(people.c.id.in_(keys)).limit(1001)
    plans = {
        name: LookupPlan.compile(statement, dialect, ("id", "name"), String(), 2)
        for name, dialect in [
            ("sqlite", sqlite.dialect()),
            ("postgresql", postgresql.dialect()),
            ("mssql", mssql.dialect()),
        ]
    }
    assert plans["sqlite"].direct and plans["sqlite"].positions is not None
    assert plans["postgresql"].direct and plans["postgresql"].positions is None
    assert not plans["mssql"].direct  # TOP is rendered at execution time
