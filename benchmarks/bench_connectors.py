"""Connector lookups per second, per adapter, against the same query sent through the driver.

For each target the same 100,000-person register is loaded and looked up by resident ID
number, projecting three items (name, birth date, income):

- *adapter*: ``await connector.lookup(keys, items)`` sequentially in one event loop: the
  connector's thread-pool hop, the SELECT SQLAlchemy compiled, run on the DBAPI cursor
  (SQL), or the DuckDB statement it builds, type conversion, the exact-key filter and the
  record dicts;
- *direct*: the same SELECT sent through the bare driver (sqlite3, psycopg, PyMySQL, DuckDB)
  on the calling thread, rows left as the driver returns them.

The ratio adapter/direct is what the adapter layer costs. Targets: SQLite and DuckDB over
Parquet always; PostgreSQL and MariaDB when ``DATARUN_BENCH_POSTGRES_URL`` /
``DATARUN_BENCH_MYSQL_URL`` are set (a schema/database of the run's own is created and
dropped). Each target is a row of ``TARGETS``: adding an adapter is adding a factory.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pydantic import SecretStr
from sqlalchemy import MetaData, create_engine, text

from benchmarks.common import measure_rate
from benchmarks.http_target import http_target
from connectors import registry
from connectors.adapters.duckdb_files import DuckDbConfig
from connectors.adapters.sql import SqlConfig
from connectors.base import Binding, ConnectorConfig
from connectors.testing.sample import COLUMNS, DUCKDB_TYPES, SAMPLE_COLUMNS, resident_id
from connectors.testing.sql import sample_table

ITEMS = ["name", "birth_date", "income"]
SELECTED = [COLUMNS[i] for i in ("id_number", *ITEMS)]
BATCH = 100
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


@dataclass
class Target:
    """One adapter on one backend: its config and the bare-driver query to compare with."""

    label: str
    adapter: str
    config: ConnectorConfig
    direct: Callable[[list[str]], list[Any]]  # run the same SELECT through the driver
    close: Callable[[], None]


def people(count: int) -> list[tuple[Any, ...]]:
    """Return ``count`` synthetic people with valid resident IDs, in the sample's columns."""
    rng = random.Random(20261127)
    rows = []
    for i in range(count):
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        body = f"330{rng.randrange(100, 999)}{born:%Y%m%d}{i % 1000:03d}"
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        income = Decimal(rng.randrange(0, 5_000_000)) / 100
        registered = datetime(2020, 1, 1) + timedelta(seconds=rng.randrange(10**8))
        rows.append(
            (
                resident_id(body),
                name,
                born,
                income,
                rng.randrange(1, 7),
                f"浙江省杭州市{i}号",
                registered,
                None,
            )
        )
    unique = {r[0]: r for r in rows}  # a repeated (region, birthday, sequence) is dropped
    return list(unique.values())


def _placeholders(style: str, n: int) -> str:
    return ", ".join([style] * n)


def _select(table: str, style: str, n: int) -> str:
    return (
        f"SELECT {', '.join(SELECTED)} FROM {table} "
        f"WHERE sfzh IN ({_placeholders(style, n)}) LIMIT 1001"
    )


def sqlite_target(workdir: Path, rows: list[tuple[Any, ...]]) -> Target | None:
    """SQLite file through the sql adapter, and through sqlite3."""
    path = workdir / "gat.db"
    engine = create_engine(f"sqlite:///{path}")
    table = sample_table(MetaData())
    with engine.begin() as conn:
        table.create(conn)
        conn.exec_driver_sql("CREATE UNIQUE INDEX ix_people_sfzh ON people (sfzh)")
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r[0], r[1], r[2].isoformat(), str(r[3]), r[4], r[5], r[6].isoformat(" "), r[7])
                for r in rows
            ],
        )
    direct = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return Target(
        "sqlite (sql adapter)",
        "sql",
        SqlConfig(url=SecretStr(f"sqlite:///{path}"), table="people"),
        lambda keys: direct.execute(_select("people", "?", len(keys)), keys).fetchall(),
        direct.close,
    )


def parquet_target(workdir: Path, rows: list[tuple[Any, ...]]) -> Target | None:
    """A Parquet file through the duckdb adapter, and through duckdb."""
    source, target = workdir / "people.csv", workdir / "people.parquet"
    with source.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    names = {c.column: DUCKDB_TYPES[c.kind] for c in SAMPLE_COLUMNS}
    struct = ", ".join(f"'{k}': '{v}'" for k, v in names.items())
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM read_csv('{source}', header = false, "
            f"names = {list(names)}, types = {{{struct}}})) TO '{target}' (FORMAT parquet)"
        )
    direct = duckdb.connect()
    table = f"read_parquet('{target}')"
    return Target(
        "parquet (duckdb adapter)",
        "duckdb",
        DuckDbConfig(path=str(target)),
        lambda keys: direct.execute(_select(table, "?", len(keys)), keys).fetchall(),
        direct.close,
    )


@contextmanager
def _server_schema(url: str, create: str, drop: str) -> Iterator[None]:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(create))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(drop))
        engine.dispose()


def postgres_target(workdir: Path, rows: list[tuple[Any, ...]]) -> Target | None:
    """PostgreSQL through the sql adapter, and through psycopg."""
    url = os.environ.get("DATARUN_BENCH_POSTGRES_URL", "")
    if not url:
        return None
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"bench_connectors_{os.getpid()}"
    scope = ExitStack()  # the schema is dropped when the target closes
    scope.enter_context(
        _server_schema(url, f'CREATE SCHEMA "{schema}"', f'DROP SCHEMA "{schema}" CASCADE')
    )
    engine = create_engine(url)
    table = sample_table(MetaData(), schema=schema)
    with engine.begin() as conn:
        table.create(conn)
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {schema}.people (sfzh)")
    raw = engine.raw_connection()
    with raw.cursor() as cursor, cursor.copy(f"COPY {schema}.people FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    raw.commit()
    raw.close()
    engine.dispose()
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    direct = psycopg.connect(plain, autocommit=True)

    def close() -> None:
        direct.close()
        scope.close()

    return Target(
        "postgresql (sql adapter)",
        "sql",
        SqlConfig(url=SecretStr(url), table=f"{schema}.people"),
        lambda keys: direct.execute(_select(f"{schema}.people", "%s", len(keys)), keys).fetchall(),
        close,
    )


def mariadb_target(workdir: Path, rows: list[tuple[Any, ...]]) -> Target | None:
    """MariaDB/MySQL through the sql adapter, and through PyMySQL."""
    url = os.environ.get("DATARUN_BENCH_MYSQL_URL", "")
    if not url:
        return None
    import pymysql
    from sqlalchemy.engine import make_url

    database = f"bench_connectors_{os.getpid()}"
    scope = ExitStack()
    scope.enter_context(
        _server_schema(
            url,
            f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4",
            f"DROP DATABASE `{database}`",
        )
    )
    engine = create_engine(url)
    table = sample_table(MetaData(), schema=database)
    with engine.begin() as conn:
        table.create(conn)
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX ix_sfzh ON `{database}`.people (sfzh)")
        for start in range(0, len(rows), 5000):
            conn.execute(
                table.insert(),
                [dict(zip(table.c.keys(), r, strict=True)) for r in rows[start : start + 5000]],
            )
    engine.dispose()
    parts = make_url(url)
    direct = pymysql.connect(
        host=parts.host,
        port=parts.port or 3306,
        user=parts.username,
        password=parts.password or "",
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )

    def query(keys: list[str]) -> list[Any]:
        with direct.cursor() as cursor:
            cursor.execute(_select("people", "%s", len(keys)), keys)
            return list(cursor.fetchall())

    def close() -> None:
        direct.close()
        scope.close()

    return Target(
        "mariadb (sql adapter)",
        "sql",
        SqlConfig(url=SecretStr(url), table=f"{database}.people"),
        query,
        close,
    )


TARGETS: list[Callable[[Path, list[tuple[Any, ...]]], Target | None]] = [
    sqlite_target,
    parquet_target,
    postgres_target,
    mariadb_target,
    http_target,
]


async def _adapter_rates(
    target: Target, singles: list[list[str]], batches: list[list[str]], seconds: float
) -> tuple[float, float]:
    binding = Binding("301001001/000001", target.adapter, target.config, "id_number", COLUMNS)
    connector = registry.build(binding)
    try:
        rates = []
        for groups in (singles, batches):
            result = await connector.lookup(groups[0], ITEMS)  # warm-up: reflection, connect
            assert result.records, f"{target.label}: the warm-up found nothing"
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                await connector.lookup(groups[count % len(groups)], ITEMS)
                count += 1
            rates.append(count * len(groups[0]) / (time.perf_counter() - started))
        return rates[0], rates[1]
    finally:
        await connector.close()


def _direct_rate(target: Target, groups: list[list[str]], seconds: float) -> float:
    assert target.direct(groups[0]), f"{target.label}: the direct query found nothing"
    calls = iter(range(10**12))
    rate = measure_rate(lambda: target.direct(groups[next(calls) % len(groups)]), seconds=seconds)
    return rate * len(groups[0])


def run(count: int = 100_000, seconds: float = 1.0) -> list[str]:
    """Measure every configured target and return report lines."""
    rows = people(count)
    keys = [r[0] for r in rows]
    rng = random.Random(7)
    singles = [[k] for k in rng.sample(keys, 1000)]
    batches = [rng.sample(keys, BATCH) for _ in range(50)]
    lines = [
        f"connector lookups: {len(rows):,} people, {len(ITEMS)} items projected, "
        "one event loop, sequential (keys looked up per second)",
        f"  {'target':<26} {'single: adapter':>15} {'direct':>9} {'ratio':>6}   "
        f"{'batch of 100: adapter':>21} {'direct':>9} {'ratio':>6}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for factory in TARGETS:
            target = factory(Path(tmp), rows)
            if target is None:
                continue
            try:
                single, batch = asyncio.run(_adapter_rates(target, singles, batches, seconds))
                direct_single = _direct_rate(target, singles, seconds)
                direct_batch = _direct_rate(target, batches, seconds)
            finally:
                target.close()
            lines.append(
                f"  {target.label:<26} {single:>15,.0f} {direct_single:>9,.0f} "
                f"{single / direct_single:>6.2f}   {batch:>21,.0f} {direct_batch:>9,.0f} "
                f"{batch / direct_batch:>6.2f}"
            )
    if not os.environ.get("DATARUN_BENCH_POSTGRES_URL"):
        lines.append("  (set DATARUN_BENCH_POSTGRES_URL / DATARUN_BENCH_MYSQL_URL to add servers)")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
