"""The conformance suite against DuckDB over Parquet files, CSV files and a DuckDB file.

The sample is written by DuckDB itself into the class's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

import duckdb

from connectors.adapters.duckdb_files import DuckDbConfig, DuckDbConnector
from connectors.base import Binding, Connector, ConnectorConfig
from connectors.testing.sample import write_duckdb_sample as write_sample
from connectors.testing.suite import ConnectorConformance

_statements: WeakKeyDictionary[Connector, list[str]] = WeakKeyDictionary()


class DuckDbConformance(ConnectorConformance):
    """What the three DuckDB variants share: statement counting, down and garbage files."""

    adapter = DuckDbConnector
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"describe", "typed", "query_count", "sql_projection", "down", "garbage"}
    )
    capability_notes: ClassVar[dict[str, str]] = {
        "timeout": "a local file cannot be made slow without a huge one; the DuckDB-file "
        "variant proves the interrupt on the same code path",
    }
    suffix: ClassVar[str]

    def open_connector(self, binding: Binding, *, max_rows: int) -> Connector:
        connector = super().open_connector(binding, max_rows=max_rows)
        assert isinstance(connector, DuckDbConnector)
        _statements[connector] = statements = []
        connector.listeners.append(statements.append)
        return connector

    def queries_issued(self, connector: Connector) -> list[str]:
        return [s for s in _statements.get(connector, []) if not s.startswith("DESCRIBE")]

    def down_config(self, handle: Path) -> ConnectorConfig:
        return self.config_for(handle / "unmounted" / f"people{self.suffix}")

    def garbage_config(self, handle: Path) -> ConnectorConfig:
        path = handle / f"garbage{self.suffix}"
        path.write_bytes(b"sfzh,xm\n" + os.urandom(4096))
        return self.config_for(path)

    def config_for(self, path: Path) -> ConnectorConfig:
        return DuckDbConfig(path=str(path))

    def sample_config(self, handle: Path) -> ConnectorConfig:
        return self.config_for(handle / f"people{self.suffix}")


class TestParquetConformance(DuckDbConformance):
    """Parquet files, read through a glob as a department's export directory would be."""

    suffix = ".parquet"

    def load_sample(self, workdir: Path) -> Any:
        with duckdb.connect() as database:
            write_sample(database)
            for part in (0, 1):  # two files, one glob: the export of two districts
                target = workdir / "export" / f"part-{part}.parquet"
                target.parent.mkdir(exist_ok=True)
                database.execute(
                    f"COPY (SELECT * FROM people WHERE hash(sfzh) % 2 = {part}) "
                    f"TO '{target}' (FORMAT parquet)"
                )
        return workdir

    def sample_config(self, handle: Path) -> ConnectorConfig:
        return DuckDbConfig(path=str(handle / "export" / "*.parquet"))


class TestCsvConformance(DuckDbConformance):
    """A CSV export with a header; decimals declared, everything else sniffed."""

    suffix = ".csv"

    def load_sample(self, workdir: Path) -> Any:
        with duckdb.connect() as database:
            write_sample(database)
            target = workdir / "people.csv"
            database.execute(f"COPY people TO '{target}' (FORMAT csv, HEADER)")
        return workdir

    def config_for(self, path: Path) -> ConnectorConfig:
        return DuckDbConfig(path=str(path), csv_types={"nsr": "DECIMAL(12,2)"})


class TestDuckDbFileConformance(DuckDbConformance):
    """A DuckDB database file, opened read-only; its slow view computes for real."""

    suffix = ".duckdb"
    capabilities: ClassVar[frozenset[str]] = DuckDbConformance.capabilities | {"timeout"}

    def load_sample(self, workdir: Path) -> Any:
        with duckdb.connect(str(workdir / "people.duckdb")) as database:
            write_sample(database)
            database.execute(
                "CREATE VIEW people_slow AS SELECT p.* FROM people p, "
                "(SELECT sum(hash(i)) AS s FROM range(100000000000) r(i)) z"
            )
        return workdir

    def config_for(self, path: Path, table: str = "people") -> ConnectorConfig:
        return DuckDbConfig(path=str(path), table=table)

    def slow_config(self, handle: Path) -> ConnectorConfig:
        return DuckDbConfig(
            path=str(handle / "people.duckdb"),
            table="people_slow",
            timeout_seconds=self.timeout_seconds,
        )
