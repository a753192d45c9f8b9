"""``datarun serve``: the hub under uvicorn, with N worker processes sharing one database.

Hub processes are stateless: every worker builds its own app from the same settings and
they share the database (PostgreSQL in production), so any number can run. With more
than one worker, Prometheus metrics are kept in files under ``PROMETHEUS_MULTIPROC_DIR``
(default ``<data_dir>/metrics``, emptied at start) so that ``/metrics`` on any worker
reports them all. uvicorn's own access log is off: it prints each request's query
string, and a ``GET /v1/records/…?key=`` carries an ID number there; the hub logs one
line per request itself (route template, status, duration, request id).
"""

from __future__ import annotations

import os
from pathlib import Path

from exchange.core.logs import configure_logging
from exchange.core.settings import Settings

APP = "exchange.app:create_app"


def prepare_metrics_dir(settings: Settings) -> Path:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory and return it."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    where = Path(configured) if configured else settings.data_dir / "metrics"
    where.mkdir(parents=True, exist_ok=True)
    for stale in where.glob("*.db"):  # values of a previous run would be summed in
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(where)
    return where


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the hub until stopped (workers > 1: a supervisor restarts a worker that dies)."""
    import uvicorn

    configure_logging(settings.log_level, settings.log_format)
    if workers > 1:
        prepare_metrics_dir(settings)
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,  # the hub's own handler (text or JSON, redacted) on the root logger
        log_level=settings.log_level.lower(),
        server_header=False,
        timeout_graceful_shutdown=10,
    )
