"""Small helpers shared by the benchmarks: timing loops, percentile summaries, hub settings."""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange.core.settings import Settings


@dataclass(frozen=True)
class Latency:
    """Latency summary of one measured operation, in milliseconds."""

    label: str
    samples: int
    p50: float
    p99: float
    mean: float

    def row(self) -> str:
        """Format as one table row."""
        return (
            f"{self.label:<44} {self.samples:>7} "
            f"{self.p50:>9.3f} {self.p99:>9.3f} {self.mean:>9.3f}"
        )


def measure_latency(
    label: str, fn: Callable[[], object], *, samples: int, warmup: int = 20
) -> Latency:
    """Call ``fn`` ``samples`` times after a warm-up and summarise its latency."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return Latency(
        label=label,
        samples=samples,
        p50=times[len(times) // 2],
        p99=times[min(len(times) - 1, int(len(times) * 0.99))],
        mean=statistics.fmean(times),
    )


def measure_rate(fn: Callable[[], object], *, seconds: float) -> float:
    """Return how many calls of ``fn`` complete per second over roughly ``seconds``."""
    fn()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            fn()
        count += 50
    return count / (time.perf_counter() - start)


LATENCY_HEADER = f"{'operation':<44} {'samples':>7} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}"


def hub_settings(url: str, tmp: Path, **extra_env: str) -> tuple[Settings, dict[str, str]]:
    """Return the settings of a benchmark hub on ``url`` and the environment of its server.

    Development mode, warnings only, data under ``tmp / "var"``, files readable below
    ``tmp`` and HTTP sources on loopback; ``extra_env`` adds to (or overrides) the
    server's environment only.
    """
    from exchange.core.settings import Settings

    allowlist, roots = ["127.0.0.1:*"], [str(tmp)]
    env = {
        "DATARUN_ENVIRONMENT": "development",
        "DATARUN_LOG_LEVEL": "WARNING",
        "DATARUN_DATABASE_URL": url,
        "DATARUN_DATA_DIR": str(tmp / "var"),
        "DATARUN_CONNECTOR_FILE_ROOTS": json.dumps(roots),
        "DATARUN_CONNECTOR_HTTP_ALLOWLIST": json.dumps(allowlist),
        **extra_env,
    }
    settings = Settings(
        environment="development",
        log_level="WARNING",
        database_url=url,
        data_dir=tmp / "var",
        connector_file_roots=[Path(r) for r in roots],
        connector_http_allowlist=allowlist,
    )
    return settings, env


@contextmanager
def hub_database(tmp: Path) -> Iterator[str]:
    """Yield the URL of a fresh hub database: SQLite under ``tmp``, or, when
    ``DATARUN_BENCH_POSTGRES_URL`` is set, a PostgreSQL database of the run's own there
    (created, then dropped)."""
    base = os.environ.get("DATARUN_BENCH_POSTGRES_URL", "")
    if not base:
        yield f"sqlite:///{tmp / 'hub.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from exchange.core.db import make_engine

    name = f"datarun_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
