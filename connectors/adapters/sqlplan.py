"""A lookup's SELECT, compiled once per (columns, number of keys), run on the DBAPI cursor.

SQLAlchemy still builds the statement (the dialect's quoting, placeholders, bind casts and
LIMIT syntax) and names each column's type processors; the lookup then runs that text on
the pooled DBAPI connection itself. SQLAlchemy's execution layer (execution context,
compiled-cache lookup, parameter processing, ``Row`` objects) cost about 200 µs of
interpreter time per lookup, several times the query's own cost for an indexed key, and the
hub's event loop waits for the interpreter lock meanwhile (``benchmarks/bench_pulls.py``).

Values come back as SQLAlchemy would give them: each column's result processor (chosen, as
SQLAlchemy does, from the driver's type code) is applied, and a key's bind processor too.
Driver errors are wrapped as SQLAlchemy wraps them (``DBAPIError`` with ``orig``; a
connection the dialect judges lost is invalidated, so the pool replaces it), so the adapter
classifies both paths alike. A dialect whose statement needs SQLAlchemy's execution-time
rendering (``POSTCOMPILE`` parameters, e.g. SQL Server's ``TOP``) runs through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.types import TypeEngine

Processor = Callable[[Any], Any] | None


@dataclass
class LookupPlan:
    """One compiled lookup statement and how to bind and read it."""

    statement: Select[Any]
    dialect: Dialect
    columns: tuple[str, ...]  # the result's column names, in select order
    types: tuple[TypeEngine[Any], ...]
    sql: str
    direct: bool  # False: run through SQLAlchemy (see the module docstring)
    key_names: tuple[str, ...]
    # Positional paramstyles: per placeholder, the key's index or None and a fixed value.
    positions: tuple[tuple[int | None, Any], ...] | None
    fixed: dict[str, Any]  # named paramstyles: the values that are not keys (LIMIT)
    key_bind: Processor
    _readers: dict[tuple[Any, ...], list[Processor]] = field(default_factory=dict)

    @classmethod
    def compile(
        cls,
        statement: Select[Any],
        dialect: Dialect,
        columns: tuple[str, ...],
        key_type: TypeEngine[Any],
        count: int,
    ) -> LookupPlan:
        """Compile ``statement`` (its key binds named ``key_0`` … ``key_<count-1>``)."""
        compiled = statement.compile(dialect=dialect)
        values = compiled.construct_params()
        key_names = tuple(f"key_{i}" for i in range(count))
        index = {name: i for i, name in enumerate(key_names)}
        positions = None
        if compiled.positional and compiled.positiontup is not None:
            positions = tuple((index.get(n), values.get(n)) for n in compiled.positiontup)
        fixed = {n: v for n, v in values.items() if n not in index}
        return cls(
            statement=statement,
            dialect=dialect,
            columns=columns,
            types=tuple(c.type for c in statement.selected_columns),
            sql=compiled.string,
            direct="__[POSTCOMPILE" not in compiled.string,
            key_names=key_names,
            positions=positions,
            fixed=fixed,
            key_bind=key_type.dialect_impl(dialect).bind_processor(dialect),
        )

    def run(self, raw: PoolProxiedConnection, keys: Sequence[Any]) -> list[dict[str, Any]]:
        """Run the lookup for ``keys`` on the checked-out DBAPI connection ``raw``."""
        if self.key_bind is not None:
            keys = [self.key_bind(k) for k in keys]
        params: Any
        if self.positions is not None:
            params = tuple(v if i is None else keys[i] for i, v in self.positions)
        else:
            params = {**self.fixed, **dict(zip(self.key_names, keys, strict=True))}
        cursor = None
        try:
            cursor = raw.cursor()
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
            description = cursor.description
        except Exception as exc:
            wrapped = self._wrapped(exc, raw, cursor)
            if wrapped is None:
                raise
            raise wrapped from exc
        finally:
            if cursor is not None:
                cursor.close()
        return self._records(rows, description)

    def run_with(self, conn: Connection, keys: Sequence[Any]) -> list[dict[str, Any]]:
        """Run the lookup through SQLAlchemy's execution (dialects not run directly)."""
        params = {**self.fixed, **dict(zip(self.key_names, keys, strict=True))}
        return [dict(row._mapping) for row in conn.execute(self.statement, params)]

    def _records(self, rows: Sequence[Sequence[Any]], description: Any) -> list[dict[str, Any]]:
        codes = tuple(d[1] for d in description)
        readers = self._readers.get(codes)
        if readers is None:
            readers = [
                t.dialect_impl(self.dialect).result_processor(self.dialect, code)
                for t, code in zip(self.types, codes, strict=True)
            ]
            self._readers[codes] = readers
        columns = self.columns
        if not any(readers):
            return [dict(zip(columns, row, strict=True)) for row in rows]
        return [
            {c: v if r is None else r(v) for c, r, v in zip(columns, readers, row, strict=True)}
            for row in rows
        ]

    def _wrapped(
        self, exc: Exception, raw: PoolProxiedConnection, cursor: Any
    ) -> sa_exc.StatementError | None:
        dbapi = self.dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            return None
        lost = bool(self.dialect.is_disconnect(exc, raw.dbapi_connection, cursor))
        if lost:
            raw.invalidate(exc)  # the pool opens a fresh connection next time
        return sa_exc.DBAPIError.instance(
            self.sql,
            None,
            exc,
            dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=self.dialect,
        )
