"""Every metric the hub exports, in one place (names, labels, buckets).

Prometheus's client library decides once, when it is first imported, whether values live
in this process or in files shared by several worker processes: ``datarun serve
--workers N`` (N > 1) sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, so
every worker writes its values there and ``GET /metrics`` on any of them reports the
sum over all (gauges: as their ``multiprocess_mode`` says).

Labels stay bounded: routes are templates (``/v1/records/{code}/lookup``), never paths;
resources are catalogue codes; systems are registered client ids. No label ever holds a
key, a name or a token.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

# Request latency: 5 ms … 10 s (a pull's deadline is a few seconds).
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A connector call: from an in-process SQLite lookup (sub-millisecond) to a deadline.
_CONNECTOR_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# An access-log append: a group commit is a few milliseconds; the timeout is seconds.
_AUDIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

UNMATCHED_ROUTE = "<unmatched>"
# The client label of a token request that named no registered client id (never the name).
ANONYMOUS_CLIENT = "<address>"

HTTP_REQUESTS = Counter(
    "datarun_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "datarun_http_request_duration_seconds",
    "time from receiving a request to sending the last byte of its answer",
    ["method", "route"],
    buckets=_HTTP_BUCKETS,
)

DECISIONS = Counter(
    "datarun_access_decisions",
    "access-log entries committed, by decision (allowed, partial, denied, source_error)",
    ["decision"],
)
AUDIT_APPEND = Histogram(
    "datarun_audit_append_seconds",
    "time for an append to the access log to commit (one call, one or more entries)",
    buckets=_AUDIT_BUCKETS,
)
AUDIT_APPEND_FAILURES = Counter(
    "datarun_audit_append_failures",
    "appends to the access log that failed (the caller got 503 and no data)",
)

CONNECTOR_CALLS = Histogram(
    "datarun_connector_call_seconds",
    "connector calls through the resilience layer (retries included), by outcome: "
    "ok, or why the source was unavailable (timeout, unreachable, circuit_open, …)",
    ["resource", "provider", "adapter", "operation", "outcome"],
    buckets=_CONNECTOR_BUCKETS,
)
BREAKER_STATE = Gauge(
    "datarun_connector_breaker_state",
    "circuit breaker of a resource's connector: 0 closed, 1 half-open (probing), 2 open; "
    "the worst over live hub processes",
    ["resource", "provider"],
    multiprocess_mode="livemax",
)
BREAKER_OPENED = Counter(
    "datarun_connector_breaker_opened",
    "times a connector's circuit breaker opened",
    ["resource", "provider"],
)

RATE_LIMITED = Counter(
    "datarun_rate_limited",
    "requests refused with 429 by the per-system rate limit",
    ["system"],
)

TOKEN_RATE_LIMITED = Counter(
    "datarun_token_rate_limited",
    "token requests (/oauth/token) refused with 429, by the registered client id they "
    f"named, or {ANONYMOUS_CLIENT} when limited by the caller's address",
    ["client"],
)

SWEEP_RUNS = Counter(
    "datarun_sweep_runs",
    "background rounds of a lifecycle sweep (grants, objections), by outcome: changed "
    "(it recorded something), idle (nothing due), skipped (another process held its lock), "
    "failed",
    ["sweep", "outcome"],
)
SWEEP_CHANGES = Counter(
    "datarun_sweep_changes",
    "rows the background sweeps changed, by sweep and action (expired, lapsed, escalated)",
    ["sweep", "action"],
)

BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.lru_cache(maxsize=4096)
def child(metric: M, *values: str) -> M:
    """Return ``metric.labels(*values)``, remembered: the hot paths (every pull) call this.

    ``labels()`` checks and converts every value and takes the metric's lock on each call;
    the children it returns live as long as their metric, and label values are bounded.
    """
    return metric.labels(*values)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and observe its duration (the middleware's observer)."""
    method = method if method in _METHODS else "OTHER"
    child(HTTP_REQUESTS, method, route, str(status)).inc()
    child(HTTP_DURATION, method, route).observe(seconds)


def process_exit() -> None:
    """Drop this process's live gauges from the shared directory (multiprocess mode)."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
