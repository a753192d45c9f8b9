"""SQL adapter: a table or view in any database SQLAlchemy reaches (PostgreSQL, MySQL/MariaDB,
SQLite …).

One lookup is one ``SELECT <mapped columns of the requested items> FROM <table> WHERE <key>
IN (<bound parameters>) LIMIT max_rows + 1``, built with SQLAlchemy Core from the binding's
names only (quoted by the dialect), compiled once per (columns, number of keys) and run on
the pooled DBAPI cursor (``sqlplan.py``), on a thread pool of the connector's own, sized
like its connection pool, so the blocking driver never runs on the event loop.

Timeouts hold at both ends: the caller stops waiting at ``timeout_seconds`` and the source
stops working then too (PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time`` /
MySQL ``max_execution_time`` plus the socket read timeout, SQLite a progress handler), so a
slow query never keeps a thread or a connection for long. Sessions are read-only (SQLite
files are opened ``mode=ro``). Exact keys and the thread pool: see ``threaded.py``.
"""

from __future__ import annotations

import asyncio
import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator
from sqlalchemy import Integer, bindparam, column, create_engine, event, inspect, select
from sqlalchemy import exc as sa_exc
from sqlalchemy import table as sql_table
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.types import NullType, TypeEngine

from connectors.adapters.sqlplan import LookupPlan
from connectors.adapters.threaded import ThreadedConnector, scrub
from connectors.base import (
    Binding,
    BindingInvalid,
    ConnectorConfig,
    SourceColumn,
    SourceUnavailable,
)

T = TypeVar("T")
_MAX_PLANS = 256  # (items asked, number of keys) pairs; a handful in practice
_IDENTIFIER = r"[^\W\d]\w{0,62}"  # letters (中文 too), digits, underscore; no quotes or ';'
TABLE_RE = re.compile(rf"^{_IDENTIFIER}(?:\.{_IDENTIFIER})?$")
_TIMEOUT_HINTS = (
    "statement timeout",
    "canceling statement",
    "interrupted",
    "max_statement_time",
    "max_execution_time",
    "timed out",
    "timeout expired",
)


class SqlConfig(ConnectorConfig):
    """Where the records live: a database URL (secret: it holds the password) and a table."""

    url: SecretStr = Field(
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host:5432/db, "
        "mysql+pymysql://…, sqlite:////srv/data/dept.db"
    )
    table: str = Field(max_length=127, description="table or view, optionally schema.table")
    pool_size: int = Field(default=4, ge=1, le=32, description="connections (and threads)")
    timeout_seconds: float = Field(default=2.0, gt=0, le=60, description="per query")
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        # Messages never echo the URL: it carries the password.
        try:
            url = make_url(value.get_secret_value())
        except (sa_exc.ArgumentError, ValueError):
            raise ValueError(
                "not a SQLAlchemy URL (dialect+driver://user:password@host:port/database)"
            ) from None
        try:
            url.get_dialect()
        except sa_exc.NoSuchModuleError:
            raise ValueError(f"no SQLAlchemy dialect for {url.drivername!r}") from None
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not TABLE_RE.match(value):
            raise ValueError(
                "must be a plain identifier or schema.table: letters, digits and '_', "
                "no quotes, spaces or ';'"
            )
        return value

    def local_paths(self) -> list[str]:
        """Return the SQLite database file, the one hub-local file a SQL binding may read."""
        url = make_url(self.url.get_secret_value())
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return [str(url.database)]
        return []


class SqlConnector(ThreadedConnector):
    """Looks records up in one table or view through SQLAlchemy."""

    name: ClassVar[str] = "sql"
    config_model: ClassVar[type[ConnectorConfig]] = SqlConfig

    def __init__(self, binding: Binding, *, max_rows: int = 1000) -> None:
        if not isinstance(binding.config, SqlConfig):
            raise BindingInvalid("the sql adapter needs a SqlConfig")
        config = binding.config
        super().__init__(
            binding,
            max_rows=max_rows,
            workers=config.pool_size,
            timeout_seconds=config.timeout_seconds,
        )
        self.config: SqlConfig = config
        schema, _, name = config.table.rpartition(".")
        self._schema, self._table = schema or None, name
        self._url = make_url(config.url.get_secret_value())
        self._lock = threading.Lock()
        self._types: dict[str, TypeEngine[Any]] | None = None
        self._plans: dict[tuple[tuple[str, ...], int], LookupPlan] = {}
        # Told the SQL text of each lookup run on the DBAPI cursor (SQLAlchemy's own
        # ``before_cursor_execute`` event does not see those; the conformance suite does).
        self.listeners: list[Callable[[str], None]] = []
        self.engine: Engine = self._make_engine()

    async def close(self) -> None:
        """Stop the thread pool and close pooled connections."""
        self._shutdown(wait=False)
        await asyncio.to_thread(self.engine.dispose)

    # ---- in the thread pool --------------------------------------------------------------

    def _fetch(self, columns: tuple[str, ...], keys: list[str]) -> list[dict[str, Any]]:
        key_type = self._column_types()[self.binding.columns[self.binding.key_item]]
        params: list[Any] = list(keys)
        if isinstance(key_type, Integer):
            # An integer key column: a key that is not an integer can match nothing.
            params = [int(k) for k in keys if re.fullmatch(r"-?\d{1,18}", k)]
            if not params:
                return []
        plan = self._plan(columns, len(params))
        if not plan.direct:
            with self._connect() as conn:
                return plan.run_with(conn, params)
        for listener in self.listeners:
            listener(plan.sql)
        with self._raw() as raw:
            return plan.run(raw, params)

    def _probe(self) -> None:
        key = self.binding.columns[self.binding.key_item]
        source = sql_table(self._table, column(key), schema=self._schema)
        with self._connect() as conn:
            conn.execute(select(source.c[key]).limit(1)).all()

    def _columns(self) -> list[SourceColumn]:
        return [
            SourceColumn(name=c["name"], type=self._type_name(c["type"]), nullable=c["nullable"])
            for c in self._reflect()
        ]

    def _reflect(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            try:
                return list(inspect(conn).get_columns(self._table, schema=self._schema))
            except sa_exc.NoSuchTableError:
                raise BindingInvalid(
                    f"the source has no table or view {self.config.table}",
                    [{"field": "config.table", "message": "no such table or view in the source"}],
                ) from None

    def _column_types(self) -> dict[str, TypeEngine[Any]]:
        with self._lock:
            if self._types is None:
                found = {c["name"]: c["type"] for c in self._reflect()}
                lacking = sorted(set(self.binding.columns.values()) - set(found))
                if lacking:
                    raise SourceUnavailable(
                        "error",
                        f"{self.label}: the source lacks mapped columns {', '.join(lacking)}",
                        transient=False,
                    )
                self._types = found
            return self._types

    def _plan(self, columns: tuple[str, ...], count: int) -> LookupPlan:
        plan = self._plans.get((columns, count))
        if plan is None:
            types = self._column_types()
            source = sql_table(
                self._table, *(column(c, types[c]) for c in columns), schema=self._schema
            )
            key = source.c[self.binding.columns[self.binding.key_item]]
            binds = [bindparam(f"key_{i}", None, type_=key.type) for i in range(count)]
            statement = select(*source.c).where(key.in_(binds)).limit(self.max_rows + 1)
            plan = LookupPlan.compile(statement, self.engine.dialect, columns, key.type, count)
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[(columns, count)] = plan
        return plan

    @contextmanager
    def _raw(self) -> Iterator[PoolProxiedConnection]:
        """Check a DBAPI connection out of the pool for one lookup."""
        raw = self._checkout(self.engine.raw_connection)
        try:
            yield raw
        finally:
            raw.close()

    def _connect(self) -> Any:
        return self._checkout(self.engine.connect)

    def _checkout(self, open_connection: Callable[[], T]) -> T:
        """Open a pooled connection: a full pool is "overloaded", a failure "unreachable"."""
        try:
            return open_connection()
        except sa_exc.TimeoutError:
            raise SourceUnavailable(
                "overloaded", f"{self.label}: all {self.config.pool_size} connections busy"
            ) from None
        except Exception as exc:
            raise SourceUnavailable(
                "unreachable", f"{self.label}: cannot connect: {self._message(exc)}"
            ) from None

    # ---- plumbing ------------------------------------------------------------------------

    def _classify(self, exc: Exception, keys: Sequence[str]) -> SourceUnavailable:
        message = self._message(exc, keys)
        lowered = message.lower()
        if any(hint in lowered for hint in _TIMEOUT_HINTS):
            return SourceUnavailable("timeout", f"{self.label}: {message}")
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return SourceUnavailable("unreachable", f"{self.label}: connection lost: {message}")
        if isinstance(exc, sa_exc.DataError | ValueError | ArithmeticError | TypeError):
            # Values the declared column types cannot hold (e.g. 'abc' in a NUMERIC column).
            return SourceUnavailable(
                "bad_response", f"{self.label}: unreadable value: {message}", transient=False
            )
        return SourceUnavailable(
            "error", f"{self.label}: query refused: {message}", transient=False
        )

    def _message(self, exc: Exception, keys: Sequence[str] = ()) -> str:
        # The driver's own first line, without SQLAlchemy's statement and parameters.
        origin = getattr(exc, "orig", None) or exc
        password = str(self._url.password) if self._url.password else ""
        return scrub(str(origin), keys, [password]) or type(origin).__name__

    def _type_name(self, type_: TypeEngine[Any]) -> str:
        if isinstance(type_, NullType):
            return "UNKNOWN"
        try:
            return str(type_.compile(dialect=self.engine.dialect))
        except Exception:
            return type(type_).__name__.upper()

    def _make_engine(self) -> Engine:
        url, config = self._url, self.config
        timeout_ms = max(1, int(config.timeout_seconds * 1000))
        connect_s = max(1, math.ceil(config.connect_timeout_seconds))
        common: dict[str, Any] = {
            "pool_size": config.pool_size,
            "max_overflow": 0,
            "pool_timeout": config.timeout_seconds,
            # No pre-ping: it would double the round trips of every lookup. A connection the
            # server dropped fails once as "unreachable" (transient, invalidated), and the
            # resilience layer retries on a fresh one; recycling keeps idle ones from going
            # stale behind firewalls.
            "pool_recycle": 300,
        }
        # Lookups are single SELECTs: autocommit spares the BEGIN and the ROLLBACK on return.
        server: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
        backend = url.get_backend_name()
        if backend == "sqlite":
            return self._sqlite_engine(url, common)
        if backend == "postgresql":
            options = f"-c statement_timeout={timeout_ms} -c default_transaction_read_only=on"
            args = {"connect_timeout": connect_s, "options": options}
            return create_engine(url, connect_args=args, **server, **common)
        if backend in ("mysql", "mariadb"):
            read_s = math.ceil(config.timeout_seconds) + 1  # the socket gives up last
            args = {"connect_timeout": connect_s, "read_timeout": read_s}
            engine = create_engine(url, connect_args=args, **server, **common)
            event.listen(engine, "connect", _mysql_session(config.timeout_seconds))
            return engine
        return create_engine(url, **common)

    def _sqlite_engine(self, url: URL, common: dict[str, Any]) -> Engine:
        path = url.database or ":memory:"
        deadline, connect_s = self._deadline, self.config.connect_timeout_seconds

        def interrupt_when_late() -> int:
            until = deadline()
            return 1 if until is not None and time.monotonic() > until else 0

        def connect() -> sqlite3.Connection:
            # mode=ro: a lookup never creates or writes the department's file.
            target = f"file:{quote(path)}?mode=ro"
            conn = sqlite3.connect(target, uri=True, check_same_thread=False, timeout=connect_s)
            conn.set_progress_handler(interrupt_when_late, 2000)
            return conn

        return create_engine("sqlite://", creator=connect, poolclass=QueuePool, **common)


def _mysql_session(timeout_seconds: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            try:  # MariaDB
                cursor.execute(f"SET SESSION max_statement_time = {timeout_seconds:.3f}")
            except Exception:  # MySQL
                cursor.execute(f"SET SESSION max_execution_time = {int(timeout_seconds * 1000)}")
        finally:
            cursor.close()

    return on_connect
