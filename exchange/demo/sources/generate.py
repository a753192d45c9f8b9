"""Generate the demo departments' own data once per seed and size, and find it again.

The data lands in ``<data_dir>/demo-sources/seed<seed>-people<n>-v<version>/`` with a
``manifest.json`` written last: a directory with a manifest is complete and is reused, so
``datarun demo up`` twice does not generate twice. 公安 goes to PostgreSQL and 民政 to
MariaDB/MySQL instead of SQLite files when their URLs are given; those databases record
which generation they hold, so a stale or foreign one is rewritten.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from exchange.demo.sources import cast, civil, enterprise, estate, store
from exchange.demo.sources.model import Dataset
from exchange.demo.sources.people import build_population
from exchange.demo.sources.world import build_world

SOURCES_VERSION = 1  # bump when a generator changes what it writes
DEFAULT_SEED = 20261127
DEFAULT_PEOPLE = 100_000
MIN_PEOPLE = 50
POSTGRES_ENV = "DATARUN_DEMO_POSTGRES_URL"
MYSQL_ENV = "DATARUN_DEMO_MYSQL_URL"
HTTP_DEPARTMENT = "zj-rlsbt"  # served by its own small HTTP app (http_department.py)

# Where each department keeps its database; "files" departments only export files.
DATABASES: dict[str, str] = {
    "zj-gat": "sqlite",
    "zj-mzt": "sqlite",
    "zj-wjw": "sqlite",
    "zj-ybj": "sqlite",
    "zj-rlsbt": "sqlite",  # behind the department's HTTP API, never bound directly
    "zj-zrzyt": "duckdb",
    "zj-zjt": "duckdb",
    "zj-tax": "files",
    "zj-scjgj": "files",
}
SERVER_TARGETS = {"zj-gat": ("postgresql", POSTGRES_ENV), "zj-mzt": ("mysql", MYSQL_ENV)}

Progress = Callable[[str], None]


def build_datasets(seed: int, people: int) -> list[Dataset]:
    """Generate every department's tables in memory (deterministic for a seed and size)."""
    if people < MIN_PEOPLE:
        raise ValueError(f"the demo needs at least {MIN_PEOPLE} people")
    world = build_world(seed, build_population(seed, people))
    return [
        *civil.public_security(world),
        *civil.civil_affairs(world),
        *civil.health(world),
        *estate.natural_resources(world),
        *estate.housing(world),
        *estate.taxation(world),
        *enterprise.market_regulation(world),
        *enterprise.human_resources(world),
        *enterprise.medical_insurance(world),
    ]


@dataclass(frozen=True)
class Sources:
    """The generated data of one seed and size: where each dataset is, and how to read it."""

    root: Path
    manifest: dict[str, Any]
    generated: bool  # False when an earlier run's data was reused
    server_urls: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def samples(self) -> dict[str, str]:
        """Return sample keys that exist in the data (the cast's)."""
        return dict(self.manifest["samples"])

    @property
    def http_database(self) -> Path:
        """Return the database file behind the HTTP department's API."""
        return self.root / self.manifest["departments"][HTTP_DEPARTMENT]["path"]

    def columns(self, dataset_key: str) -> list[tuple[str, str]]:
        """Return a dataset's ``(column, type)`` pairs as the generator declared them."""
        return [(name, kind) for name, kind in self.manifest["datasets"][dataset_key]["columns"]]

    def department(self, dataset_key: str) -> str:
        """Return the code of the department that holds a dataset."""
        return str(self.manifest["datasets"][dataset_key]["department"])

    def location(self, dataset_key: str) -> tuple[str, str]:
        """Return ``(kind, where)`` of a dataset: a SQLAlchemy URL, or a file's path.

        ``kind`` is one of sqlite, postgresql, mysql, duckdb, parquet, csv, http (the
        dataset lives behind the department's HTTP API; ``where`` is its backing database).
        """
        entry = self.manifest["datasets"][dataset_key]
        if entry["store"] in ("csv", "parquet"):
            return entry["store"], str(self.root / entry["path"])
        department = self.manifest["departments"][entry["department"]]
        kind = department["store"]
        if kind in ("postgresql", "mysql"):
            return kind, self.server_urls[entry["department"]]
        path = self.root / department["path"]
        if department.get("served_over") == "http":
            return "http", f"sqlite:///{path}"
        if kind == "sqlite":
            return kind, f"sqlite:///{path}"
        return kind, str(path)


def generation_name(seed: int, people: int) -> str:
    """Return the cache directory name (and server marker) of one seed and size."""
    return f"seed{seed}-people{people}-v{SOURCES_VERSION}"


def ensure_sources(
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    people: int = DEFAULT_PEOPLE,
    postgres_url: str | None = None,
    mysql_url: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Sources:
    """Return the demo sources of ``seed`` and ``people``, generating them unless cached."""
    say: Progress = progress or (lambda _m: None)
    name = generation_name(seed, people)
    root = (data_dir / "demo-sources" / name).resolve()
    servers = {dept: url for dept, url in (("zj-gat", postgres_url), ("zj-mzt", mysql_url)) if url}
    targets = {dept: _shown(url) for dept, url in servers.items()}
    manifest_path = root / "manifest.json"
    if not force and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("targets") == targets and all(
            store.read_marker(url) == name for url in servers.values()
        ):
            say(f"demo sources: reusing {name} ({_count(manifest)} rows)")
            return Sources(root, manifest, False, servers)
    return _generate(root, seed, people, servers, targets, say)


def _generate(
    root: Path,
    seed: int,
    people: int,
    servers: dict[str, str],
    targets: dict[str, str],
    say: Progress,
) -> Sources:
    name = root.name
    started = time.perf_counter()
    say(f"demo sources: generating {people:,} people and their departments' records (seed {seed})")
    datasets = build_datasets(seed, people)
    say(f"  generated in {time.perf_counter() - started:.1f} s")
    work = root.with_name(f"{name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    departments: dict[str, dict[str, Any]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for dept, kind in DATABASES.items():
        mine = [d for d in datasets if d.department == dept]
        step = time.perf_counter()
        in_db = [d for d in mine if d.store == "db"]
        if dept in servers:
            kind = SERVER_TARGETS[dept][0]
            store.write_sql(servers[dept], in_db, marker=name)
            departments[dept] = {
                "store": kind,
                "url": targets[dept],
                "url_env": SERVER_TARGETS[dept][1],
            }
        elif kind == "sqlite":
            path = work / dept / f"{dept}.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            store.write_sql(f"sqlite:///{path}", in_db, marker=name)
            departments[dept] = {"store": kind, "path": f"{dept}/{dept}.sqlite"}
        elif kind == "duckdb":
            store.write_duckdb(work / dept / f"{dept}.duckdb", in_db, work)
            departments[dept] = {"store": kind, "path": f"{dept}/{dept}.duckdb"}
        else:
            departments[dept] = {"store": "files"}
        if dept == HTTP_DEPARTMENT:
            departments[dept]["served_over"] = "http"
        for d in mine:
            entry: dict[str, Any] = {
                "department": dept,
                "title": d.title,
                "store": d.store,
                "table": d.name,
                "columns": [list(c) for c in d.columns],
                "rows": len(d.rows),
                "fingerprint": d.fingerprint(),
            }
            if d.store == "csv":
                store.write_csv(work / dept / f"{d.name}.csv", d)
                entry["path"] = f"{dept}/{d.name}.csv"
            elif d.store == "parquet":
                store.write_parquet(work / dept / f"{d.name}.parquet", d, work / f"{d.name}.csv")
                entry["path"] = f"{dept}/{d.name}.parquet"
            entries[d.key] = entry
        sizes = ", ".join(f"{d.name} {len(d.rows):,}" for d in mine)
        where = departments[dept]["store"]
        say(f"  {dept:<9} {where:<10} {sizes}  ({time.perf_counter() - step:.1f} s)")
    manifest = {
        "generation": name,
        "version": SOURCES_VERSION,
        "seed": seed,
        "people": people,
        "targets": targets,
        "departments": departments,
        "datasets": entries,
        "samples": cast.samples(),
    }
    (work / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(root, ignore_errors=True)
    try:
        work.rename(root)
    except OSError:
        # Another process finished the same generation first: keep its directory.
        shutil.rmtree(work, ignore_errors=True)
    say(f"  {_count(manifest):,} rows in {root} ({time.perf_counter() - started:.1f} s)")
    return Sources(root, manifest, True, servers)


def _count(manifest: dict[str, Any]) -> int:
    return sum(int(e["rows"]) for e in manifest["datasets"].values())


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
