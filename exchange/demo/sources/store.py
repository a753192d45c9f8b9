"""Write generated datasets where each department keeps them: SQL, DuckDB, Parquet, CSV.

SQL goes through SQLAlchemy Core (SQLite files by default; PostgreSQL or MariaDB when the
demo is pointed at them), one transaction and one ``executemany`` per table. DuckDB tables
and Parquet files are loaded from a staged CSV with declared column types, so the values
are typed by the schema, not guessed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from exchange.demo.sources.model import ColumnType, Dataset

MARKER_TABLE = "datarun_demo_marker"  # in a server database: which generation it holds

_SQL_TYPES: dict[ColumnType, TypeEngine[Any]] = {
    "text": String(255),
    "date": Date(),
    "datetime": DateTime(),
    "int": Integer(),
    "decimal": Numeric(18, 2),
    "rate": Numeric(8, 4),
    "bool": Boolean(),
    "blob": LargeBinary(),
}
DUCKDB_TYPES: dict[str, str] = {  # ColumnType → DuckDB type
    "text": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "int": "INTEGER",
    "decimal": "DECIMAL(18,2)",
    "rate": "DECIMAL(8,4)",
    "bool": "BOOLEAN",
    "blob": "BLOB",
}


def _table(metadata: MetaData, dataset: Dataset) -> Table:
    table = Table(
        dataset.name,
        metadata,
        *(Column(name, _SQL_TYPES[kind]) for name, kind in dataset.columns),
        comment=dataset.title,
        mysql_charset="utf8mb4",  # Chinese text whatever the database's default
    )
    return table


def _indexes(table: Table, dataset: Dataset) -> list[Index]:
    return [Index(f"ix_{dataset.name}_{key}", table.c[key]) for key in dataset.index_columns]


def write_sql(url: str, datasets: Sequence[Dataset], *, marker: str) -> None:
    """Replace the datasets' tables in the database at ``url`` and record ``marker``."""
    metadata = MetaData()
    tables = [_table(metadata, d) for d in datasets]
    marker_table = Table(MARKER_TABLE, metadata, Column("generation", String(255)))
    # Not the hub's make_engine: a department's SQLite file keeps the default rollback
    # journal (no WAL side files), so it can be opened read-only anywhere.
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                conn.exec_driver_sql("PRAGMA synchronous = OFF")  # generated, not precious
                conn.commit()
            with conn.begin():
                metadata.drop_all(conn, checkfirst=True)
                metadata.create_all(conn)
                for table, dataset in zip(tables, datasets, strict=True):
                    if not dataset.rows:
                        continue
                    if sqlite:
                        _insert_sqlite(conn, dataset)
                    else:
                        names = dataset.column_names
                        rows = [dict(zip(names, r, strict=True)) for r in dataset.rows]
                        conn.execute(table.insert(), rows)
                for table, dataset in zip(tables, datasets, strict=True):
                    for index in _indexes(table, dataset):  # after the rows: faster
                        index.create(conn)
                conn.execute(marker_table.insert(), [{"generation": marker}])
    finally:
        engine.dispose()


def _insert_sqlite(conn: Connection, dataset: Dataset) -> None:
    """Insert through the driver's ``executemany``, values stored as SQLAlchemy stores them."""
    convert = [
        (i, _SQLITE_VALUES[kind]) for i, (_n, kind) in enumerate(dataset.columns)
        if kind in _SQLITE_VALUES
    ]  # fmt: skip
    rows: Sequence[Sequence[Any]] = dataset.rows
    if convert:
        converted = []
        for source in dataset.rows:
            row = list(source)
            for i, f in convert:
                if row[i] is not None:
                    row[i] = f(row[i])
            converted.append(tuple(row))
        rows = converted
    marks = ", ".join("?" for _ in dataset.columns)
    conn.exec_driver_sql(f'INSERT INTO "{dataset.name}" VALUES ({marks})', rows)  # noqa: S608


_SQLITE_VALUES: dict[str, Callable[[Any], Any]] = {
    "date": date.isoformat,
    "datetime": lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f"),
    "decimal": float,
    "rate": float,
    "bool": int,
}


def read_marker(url: str) -> str | None:
    """Return the generation recorded in the database at ``url``, or None."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT generation FROM {MARKER_TABLE}")).scalar()  # noqa: S608 - a constant
    except Exception:
        return None
    finally:
        engine.dispose()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def write_csv(path: Path, dataset: Dataset) -> None:
    """Write the dataset as UTF-8 CSV with a header row (empty cell: NULL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(dataset.column_names)
        writer.writerows([_cell(v) for v in row] for row in dataset.rows)


def _typed_csv(path: Path, dataset: Dataset) -> str:
    """Return a DuckDB ``read_csv`` expression reading ``path`` with the dataset's types."""
    columns = ", ".join(f"'{n}': '{DUCKDB_TYPES[t]}'" for n, t in dataset.columns)
    return (
        f"read_csv('{_quoted(path)}', header = true, delim = ',', quote = '\"', "
        f"columns = {{{columns}}}, nullstr = '')"
    )


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def write_parquet(path: Path, dataset: Dataset, staging: Path) -> None:
    """Write the dataset as a Parquet file through DuckDB's ``COPY … (FORMAT parquet)``."""
    write_csv(staging, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as conn:
        conn.execute("SET threads = 1")  # one writer: the same rows give the same bytes
        source = _typed_csv(staging, dataset)
        target = _quoted(path)
        conn.execute(f"COPY (SELECT * FROM {source}) TO '{target}' (FORMAT parquet)")  # noqa: S608
    staging.unlink()


def write_duckdb(path: Path, datasets: Iterable[Dataset], staging_dir: Path) -> None:
    """Create a DuckDB database file holding the datasets as tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        for dataset in datasets:
            staging = staging_dir / f"{dataset.name}.csv"
            write_csv(staging, dataset)
            conn.execute(f'DROP TABLE IF EXISTS "{dataset.name}"')
            conn.execute(
                f'CREATE TABLE "{dataset.name}" AS '  # noqa: S608 - the dataset's own names
                f"SELECT * FROM {_typed_csv(staging, dataset)}"
            )
            conn.execute(f"COMMENT ON TABLE \"{dataset.name}\" IS '{dataset.title}'")
            staging.unlink()
        conn.execute("CHECKPOINT")


def read_rows(dataset: Dataset, kind: str, location: str) -> list[tuple[Any, ...]]:
    """Read a written dataset back (``kind`` and ``location`` as ``Sources.location`` says)."""
    names = ", ".join(f'"{n}"' for n in dataset.column_names)
    if kind in ("sqlite", "postgresql", "mysql", "http"):  # http: the API's own database
        engine = create_engine(location)
        try:
            with engine.connect() as conn:
                quoted = conn.dialect.identifier_preparer.quote
                cols = ", ".join(quoted(n) for n in dataset.column_names)
                rows = conn.execute(text(f"SELECT {cols} FROM {quoted(dataset.name)}"))  # noqa: S608
                return [tuple(r) for r in rows]
        finally:
            engine.dispose()
    with duckdb.connect(
        location if kind == "duckdb" else ":memory:", read_only=kind == "duckdb"
    ) as conn:
        source = {
            "duckdb": f'"{dataset.name}"',
            "parquet": f"read_parquet('{_quoted(Path(location))}')",
            "csv": _typed_csv(Path(location), dataset),
        }[kind]
        return [tuple(r) for r in conn.execute(f"SELECT {names} FROM {source}").fetchall()]  # noqa: S608
