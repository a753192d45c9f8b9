"""DuckDB adapter: Parquet or CSV files (a file or a glob) and DuckDB database files.

One lookup is one ``SELECT <mapped columns> FROM read_parquet('<path>') WHERE <key> IN (?, …)
LIMIT max_rows + 1`` (``read_csv`` / ``<schema.table>`` likewise) on a private in-process
DuckDB, run on the connector's own thread pool with a cursor per thread. DuckDB is
sandboxed before the first query: no extension is installed or loaded, file access is
limited to the bound file's directory (``allowed_directories`` + ``enable_external_access =
false``) and the configuration is then locked, so not even a view inside a database file
can read elsewhere or reach the network. Database files are opened read-only. A query past
``timeout_seconds`` is interrupted, not left running.

CSV columns are typed by DuckDB's sniffer, except the key (always VARCHAR: 18-digit IDs are
not numbers) and the columns listed in ``csv_types`` (e.g. ``{"nsr": "DECIMAL(12,2)"}``).
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
from pydantic import Field, field_validator, model_validator

from connectors.adapters.threaded import ThreadedConnector, scrub
from connectors.base import (
    Binding,
    BindingInvalid,
    ConnectorConfig,
    SourceColumn,
    SourceUnavailable,
)

_IDENTIFIER = r"[^\W\d]\w{0,62}"
TABLE_RE = re.compile(rf"^{_IDENTIFIER}(?:\.{_IDENTIFIER})?$")
DUCKDB_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z ]{0,30}(?:\(\s*\d{1,3}\s*(?:,\s*\d{1,3}\s*)?\))?$")
Format = Literal["parquet", "csv", "duckdb"]
_SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".gz": "csv",
    ".duckdb": "duckdb",
    ".db": "duckdb",
}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDbConfig(ConnectorConfig):
    """Where the records live: files (Parquet/CSV, glob allowed) or a DuckDB file and table."""

    path: str = Field(
        min_length=2,
        max_length=1024,
        description="absolute path of a .parquet/.csv file or glob (/srv/tax/*.parquet), "
        "or of a .duckdb database file",
    )
    format: Format | None = Field(default=None, description="default: by the file extension")
    table: str | None = Field(default=None, description="table or view (.duckdb files only)")
    csv_types: dict[str, str] = Field(
        default_factory=dict, description="CSV column → DuckDB type, e.g. DECIMAL(12,2)"
    )
    pool_size: int = Field(default=4, ge=1, le=32, description="concurrent queries")
    threads: int = Field(default=2, ge=1, le=32, description="DuckDB threads per query")
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if "://" in value or "\x00" in value:
            raise ValueError("must be a local file path, not a URL")
        if not os.path.isabs(value):
            raise ValueError("must be an absolute path")
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not TABLE_RE.match(value):
            raise ValueError("must be a plain identifier or schema.table")
        return value

    @field_validator("csv_types")
    @classmethod
    def _csv_types(cls, value: dict[str, str]) -> dict[str, str]:
        for column_name, type_name in value.items():
            if not DUCKDB_TYPE_RE.match(type_name):
                raise ValueError(f"{column_name}: {type_name!r} is not a DuckDB type name")
        return value

    @model_validator(mode="after")
    def _shape(self) -> DuckDbConfig:
        if self.format is None:
            found = _SUFFIXES.get(Path(self.path).suffix.lower())
            if found is None:
                raise ValueError(
                    "path: cannot tell the format from the extension; set format to "
                    "parquet, csv or duckdb"
                )
            self.format = found
        if (self.format == "duckdb") != (self.table is not None):
            raise ValueError("table: required for a .duckdb file, and only for one")
        if self.csv_types and self.format != "csv":
            raise ValueError("csv_types: only for CSV files")
        return self

    def local_paths(self) -> list[str]:
        """Return the file or glob this binding reads."""
        return [self.path]

    def directory(self) -> str:
        """Return the directory holding the file(s): the part of the path before any glob."""
        parts = Path(self.path).parts
        for i, part in enumerate(parts):
            if glob.has_magic(part):
                return str(Path(*parts[:i]))
        return str(Path(self.path).parent)


class DuckDbConnector(ThreadedConnector):
    """Looks records up in files or a DuckDB database with an embedded, sandboxed DuckDB."""

    name: ClassVar[str] = "duckdb"
    config_model: ClassVar[type[ConnectorConfig]] = DuckDbConfig

    def __init__(self, binding: Binding, *, max_rows: int = 1000) -> None:
        if not isinstance(binding.config, DuckDbConfig):
            raise BindingInvalid("the duckdb adapter needs a DuckDbConfig")
        config = binding.config
        super().__init__(
            binding,
            max_rows=max_rows,
            workers=config.pool_size,
            timeout_seconds=config.timeout_seconds,
        )
        self.config: DuckDbConfig = config
        self._lock = threading.Lock()
        self._database: duckdb.DuckDBPyConnection | None = None
        self._types: dict[str, str] | None = None
        self._running: set[duckdb.DuckDBPyConnection] = set()
        # Observers of every statement sent (tests count queries; metrics may too).
        self.listeners: list[Callable[[str], None]] = []

    async def close(self) -> None:
        """Interrupt running queries, stop the thread pool, close DuckDB."""
        with self._lock:
            running = list(self._running)
        for cursor in running:
            cursor.interrupt()
        # DuckDB refuses to close while a cursor is mid-query: let the interrupted ones end.
        await asyncio.to_thread(self._shutdown, wait=True)
        database, self._database = self._database, None
        if database is not None:
            await asyncio.to_thread(database.close)

    def _abandon(self, holder: dict[str, Any]) -> None:
        cursor = holder.get("cursor")
        if cursor is not None:
            cursor.interrupt()  # DuckDB stops the query; the thread is free again

    # ---- in the thread pool --------------------------------------------------------------

    def _fetch(self, columns: tuple[str, ...], keys: list[str]) -> list[dict[str, Any]]:
        key = self.binding.columns[self.binding.key_item]
        key_type = self._column_types().get(key, "VARCHAR")
        match = _quoted(key) if key_type == "VARCHAR" else f"CAST({_quoted(key)} AS VARCHAR)"
        # Names come from the binding only, quoted; key values travel as bound parameters.
        statement = (
            f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {self._source()} "  # noqa: S608
            f"WHERE {match} IN ({', '.join('?' for _ in keys)}) LIMIT {self.max_rows + 1}"
        )
        return [dict(zip(columns, row, strict=True)) for row in self._execute(statement, keys)]

    def _probe(self) -> None:
        key = _quoted(self.binding.columns[self.binding.key_item])
        self._execute(f"SELECT {key} FROM {self._source()} LIMIT 1", [])  # noqa: S608

    def _columns(self) -> list[SourceColumn]:
        rows = self._execute(f"DESCRIBE SELECT * FROM {self._source()}", [])  # noqa: S608
        return [SourceColumn(name=r[0], type=r[1], nullable=r[2] != "NO") for r in rows]

    def _column_types(self) -> dict[str, str]:
        if self._types is None:
            types = {c.name: c.type for c in self._columns()}
            lacking = sorted(set(self.binding.columns.values()) - set(types))
            if lacking:
                raise SourceUnavailable(
                    "bad_response",
                    f"{self.label}: the source lacks mapped columns {', '.join(lacking)}",
                    transient=False,
                )
            self._types = types
        return self._types

    def _source(self) -> str:
        config = self.config
        if config.format == "parquet":
            return f"read_parquet({_literal(config.path)})"
        if config.format == "csv":
            key = self.binding.columns[self.binding.key_item]
            types = {**config.csv_types, key: "VARCHAR"}
            struct = ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in types.items())
            return f"read_csv({_literal(config.path)}, header = true, types = {{{struct}}})"
        assert config.table is not None
        return ".".join(_quoted(part) for part in config.table.split("."))

    def _execute(self, statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        cursor = self._cursor()
        self._holder()["cursor"] = cursor
        for listener in self.listeners:
            listener(statement)
        with self._lock:
            self._running.add(cursor)
        try:
            return cursor.execute(statement, params).fetchall()
        finally:
            with self._lock:
                self._running.discard(cursor)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        # One cursor (a connection to the same database) per pool thread.
        database = self._open()
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "database", None) is not database:
            cursor = database.cursor()
            self._local.cursor, self._local.database = cursor, database
        return cursor

    def _open(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._database is not None:
                return self._database
            config = self.config
            settings: dict[str, Any] = {
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "threads": config.threads,
            }
            with _SANDBOXING:  # connectors of one file share its instance (see _sandboxed)
                if config.format == "duckdb":
                    database = duckdb.connect(config.path, read_only=True, config=settings)
                else:
                    database = duckdb.connect(":memory:", config=settings)
                try:
                    allowed = config.directory().rstrip("/") + "/"
                    if not _sandboxed(database, allowed):
                        database.execute(f"SET allowed_directories = [{_literal(allowed)}]")
                        database.execute("SET enable_external_access = false")
                        database.execute("SET lock_configuration = true")
                except Exception:
                    database.close()
                    raise
            self._database = database
            return database

    def _classify(self, exc: Exception, keys: Sequence[str]) -> SourceUnavailable:
        text = scrub(str(exc), keys) or type(exc).__name__
        message = f"{self.label}: {text}"
        if isinstance(exc, duckdb.InterruptException):
            return SourceUnavailable("timeout", message)
        if isinstance(exc, duckdb.IOException) and "not a valid" not in text:
            return SourceUnavailable("unreachable", message)  # missing or unreadable file
        if isinstance(exc, duckdb.IOException | duckdb.InvalidInputException | ValueError):
            return SourceUnavailable("bad_response", message, transient=False)
        if isinstance(exc, duckdb.ConversionException):
            return SourceUnavailable("bad_response", message, transient=False)
        return SourceUnavailable("error", message, transient=False)


_SANDBOXING = threading.Lock()


def _sandboxed(database: duckdb.DuckDBPyConnection, allowed: str) -> bool:
    """Tell whether the database is already sandboxed to ``allowed`` and locked.

    DuckDB keeps one instance per database file in a process: a second connector of the
    same file (two resources bound to one DuckDB file) gets the instance the first one
    sandboxed and locked, whose settings can no longer be set. That is only accepted if
    they are the very ones this connector would set.
    """
    row = database.execute(
        "SELECT current_setting('lock_configuration'), current_setting('allowed_directories'),"
        " current_setting('enable_external_access')"
    ).fetchone()
    if row is None or not row[0]:
        return False
    if row[2] or allowed not in list(row[1] or []):
        raise duckdb.InvalidInputException(
            "the database file is already open in this process with another sandbox"
        )
    return True
