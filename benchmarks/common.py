"""Small helpers shared by the benchmarks: timing loops, percentile summaries, hub settings."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
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
