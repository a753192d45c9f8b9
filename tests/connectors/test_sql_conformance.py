"""The conformance suite against SQLite (always), PostgreSQL and MariaDB (real servers).

PostgreSQL and MariaDB come from ``DATARUN_TEST_POSTGRES_URL`` / ``DATARUN_TEST_MYSQL_URL``;
each run loads the sample into a schema of its own and drops it afterwards. Without the
variable the class is skipped locally and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine

from connectors.adapters.sql import SqlConfig
from connectors.base import ConnectorConfig
from connectors.testing.sample import SAMPLE_COLUMNS
from connectors.testing.sql import SqlConformance, SqlSample
from tests.fixtures.servers import server_url

GARBAGE_TABLE = "people_garbage"


def _run_schema(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


class TestSqliteConformance(SqlConformance):
    """A department's SQLite file, opened read-only."""

    capabilities: ClassVar[frozenset[str]] = SqlConformance.capabilities | {"garbage"}

    def admin_url(self, workdir: Path) -> str:
        return f"sqlite:///{workdir / 'department.db'}"

    def slow_view_sql(self, source: str, view: str) -> str:
        # A real computation: counting to 10⁹ in a recursive CTE takes SQLite minutes.
        return (
            f"CREATE VIEW {view} AS SELECT * FROM {source} WHERE (WITH RECURSIVE c(x) AS "
            "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
            "SELECT count(*) FROM c) > 0"
        )

    def after_load(self, engine: Engine, sample: SqlSample) -> None:
        # Declared DATE and NUMERIC columns holding text that is neither: garbage values.
        columns = ", ".join(f"{c.column} {_sqlite_type(c.kind)}" for c in SAMPLE_COLUMNS)
        with sqlite3.connect(sample.workdir / "department.db") as conn:
            conn.execute(f"CREATE TABLE {GARBAGE_TABLE} ({columns})")
            conn.execute(
                f"INSERT INTO {GARBAGE_TABLE} VALUES "
                "('330102194901010015', '张伟', 'not-a-date', 'lots', 'three', "
                "'?', 'yesterday', NULL)"
            )

    def garbage_config(self, handle: SqlSample) -> ConnectorConfig:
        return SqlConfig(url=SecretStr(handle.url), table=GARBAGE_TABLE)

    def down_config(self, handle: SqlSample) -> ConnectorConfig:
        # A file that is not there (an unmounted share): read-only mode never creates it.
        missing = handle.workdir / "unmounted" / "department.db"
        return SqlConfig(url=SecretStr(f"sqlite:///{missing}"), table="people")


def _sqlite_type(kind: str) -> str:
    return {"date": "DATE", "datetime": "DATETIME", "decimal": "NUMERIC(12, 2)"}.get(
        kind, "INTEGER" if kind == "integer" else "VARCHAR(200)"
    )


class TestPostgresConformance(SqlConformance):
    """PostgreSQL through psycopg 3, in a schema of this run's own."""

    def admin_url(self, workdir: Path) -> str:
        return server_url("DATARUN_TEST_POSTGRES_URL")

    def sample_schema(self) -> str:
        return _run_schema("conformance")

    def create_schema(self, engine: Engine, schema: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop_schema(self, engine: Engine, schema: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def slow_view_sql(self, source: str, view: str) -> str:
        return f"CREATE VIEW {view} AS SELECT p.* FROM {source} p CROSS JOIN pg_sleep(30) z"


class TestMariadbConformance(SqlConformance):
    """MariaDB (or MySQL) through PyMySQL, in a database of this run's own."""

    def admin_url(self, workdir: Path) -> str:
        return server_url("DATARUN_TEST_MYSQL_URL")

    def sample_schema(self) -> str:
        return _run_schema("conformance")

    def create_schema(self, engine: Engine, schema: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4"))

    def drop_schema(self, engine: Engine, schema: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{schema}`"))

    def slow_view_sql(self, source: str, view: str) -> str:
        return f"CREATE VIEW {view} AS SELECT p.* FROM {source} p WHERE SLEEP(30) = 0"
