"""The conformance suite for SQL backends reached through the ``sql`` adapter.

A backend's test subclasses ``SqlConformance`` with a URL allowed to create the sample
(``admin_url``), where to put it (``sample_schema``) and a view that is slow for real
(``slow_view_sql``). Any SQLAlchemy dialect a department brings (Oracle, 达梦, …) can be
proven with it the same way.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from pydantic import SecretStr
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeEngine

from connectors.adapters.sql import SqlConfig, SqlConnector
from connectors.base import Binding, Connector, ConnectorConfig
from connectors.testing.sample import SAMPLE_COLUMNS, SAMPLE_ROWS, TEXT_LENGTHS, Kind
from connectors.testing.suite import ConnectorConformance

TABLE = "people"
SLOW_VIEW = "people_slow"
_statements: WeakKeyDictionary[Connector, list[str]] = WeakKeyDictionary()


def _type(kind: Kind, name: str) -> TypeEngine[Any]:
    types: dict[str, TypeEngine[Any]] = {
        "text": String(TEXT_LENGTHS.get(name, 200)),
        "date": Date(),
        "datetime": DateTime(),
        "decimal": Numeric(12, 2),
        "integer": Integer(),
    }
    return types[kind]


def sample_table(metadata: MetaData, name: str = TABLE, schema: str | None = None) -> Table:
    """Declare the sample's table (typed columns, utf8mb4 on MySQL/MariaDB)."""
    columns = [Column(c.column, _type(c.kind, c.column)) for c in SAMPLE_COLUMNS]
    return Table(name, metadata, *columns, schema=schema, mysql_charset="utf8mb4")


def closed_port() -> int:
    """Return a loopback TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class SqlSample:
    """Where the sample was loaded: the URL and the schema (None: the default one)."""

    url: str
    schema: str | None
    workdir: Path

    def table(self, name: str) -> str:
        """Qualify ``name`` with the sample's schema."""
        return f"{self.schema}.{name}" if self.schema else name


class SqlConformance(ConnectorConformance):
    """The suite, with the sample loaded into a SQL database through SQLAlchemy."""

    adapter = SqlConnector
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"describe", "typed", "query_count", "sql_projection", "timeout", "down"}
    )
    capability_notes: ClassVar[dict[str, str]] = {
        "garbage": "a typed SQL server only returns values of its declared column types; "
        "junk on the wire is the driver's to reject and is reported as unreachable",
    }

    # ---- backend hooks -------------------------------------------------------------------

    def admin_url(self, workdir: Path) -> str:
        """Return a URL with rights to create the sample (skip or fail if not configured)."""
        raise NotImplementedError

    def sample_schema(self) -> str | None:
        """Return a schema of this run's own to create (None: use the default schema)."""
        return None

    def create_schema(self, engine: Engine, schema: str) -> None:
        """Create ``schema``."""
        raise NotImplementedError

    def drop_schema(self, engine: Engine, schema: str) -> None:
        """Drop ``schema`` and everything in it."""
        raise NotImplementedError

    def slow_view_sql(self, source: str, view: str) -> str:
        """Return DDL creating ``view`` over ``source`` that takes seconds to answer."""
        raise NotImplementedError

    def after_load(self, engine: Engine, sample: SqlSample) -> None:
        """Create extra sources (e.g. garbage) once the sample is loaded."""

    # ---- suite hooks ---------------------------------------------------------------------

    def load_sample(self, workdir: Path) -> SqlSample:
        """Create the schema, the typed table with the sample rows and the slow view."""
        url = self.admin_url(workdir)
        schema = self.sample_schema()
        engine = create_engine(url)
        try:
            if schema:
                self.create_schema(engine, schema)
            table = sample_table(MetaData(), schema=schema)
            sample = SqlSample(url=url, schema=schema, workdir=workdir)
            with engine.begin() as conn:
                table.create(conn)
                conn.execute(table.insert(), [dict(r) for r in SAMPLE_ROWS])
                slow = self.slow_view_sql(sample.table(TABLE), sample.table(SLOW_VIEW))
                conn.exec_driver_sql(slow)
            self.after_load(engine, sample)
        finally:
            engine.dispose()
        return sample

    def unload_sample(self, handle: SqlSample) -> None:
        """Drop the run's schema."""
        if handle.schema:
            engine = create_engine(handle.url)
            try:
                self.drop_schema(engine, handle.schema)
            finally:
                engine.dispose()

    def sample_config(self, handle: SqlSample) -> ConnectorConfig:
        """Reach the sample table."""
        return SqlConfig(url=SecretStr(handle.url), table=handle.table(TABLE))

    def slow_config(self, handle: SqlSample) -> ConnectorConfig:
        """Reach the slow view with the suite's timeout."""
        return SqlConfig(
            url=SecretStr(handle.url),
            table=handle.table(SLOW_VIEW),
            timeout_seconds=self.timeout_seconds,
        )

    def down_config(self, handle: SqlSample) -> ConnectorConfig:
        """Reach the same kind of server on a closed port, with a password to keep secret."""
        url = make_url(handle.url).set(
            host="127.0.0.1",
            port=closed_port(),
            username="conformance",
            password="s3cret-conformance-pw",  # noqa: S106
        )
        rendered = url.render_as_string(hide_password=False)
        return SqlConfig(url=SecretStr(rendered), table=handle.table(TABLE))

    def open_connector(self, binding: Binding, *, max_rows: int) -> Connector:
        """Open the connector and record every statement its engine sends."""
        connector = super().open_connector(binding, max_rows=max_rows)
        assert isinstance(connector, SqlConnector)
        statements: list[str] = []
        _statements[connector] = statements

        def record(*args: Any) -> None:
            statements.append(args[2])  # (conn, cursor, statement, parameters, context, many)

        event.listen(connector.engine, "before_cursor_execute", record)
        connector.listeners.append(statements.append)  # lookups run on the DBAPI cursor
        return connector

    def queries_issued(self, connector: Connector) -> list[str]:
        """Return the statements sent, in order."""
        return list(_statements.get(connector, []))
