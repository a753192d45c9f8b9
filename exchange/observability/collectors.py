"""What is only known when Prometheus scrapes: breaker states now, the retry queue's depth."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connectors.resilience import ResilientConnector
from exchange.observability import metrics

log = logging.getLogger("datarun.metrics")

RETRY_QUEUE_SQL = text("SELECT count(*) FROM application_materials WHERE status = 'unavailable'")


def refresh_breakers(state: Any) -> None:
    """Set the breaker gauge of every connector this process holds (cool-downs run out)."""
    pool = getattr(state, "connector_pool", None)
    if pool is None:
        return
    for connector in pool.cached().values():
        if isinstance(connector, ResilientConnector):
            labels = (connector.binding.resource_code, connector.provider or "")
            value = metrics.BREAKER_VALUES[connector.state()]
            metrics.BREAKER_STATE.labels(*labels).set(value)


def retry_queue_depth(state: Any) -> int | None:
    """Count the applications' materials waiting for a retry (None: not known now)."""
    try:
        with state.engine.connect() as conn:
            return int(conn.execute(RETRY_QUEUE_SQL).scalar() or 0)
    except SQLAlchemyError as exc:  # no such table yet, or the database is down
        log.debug("retry queue depth unknown: %s", type(exc).__name__)
        return None


class HubCollector(Collector):
    """Metrics read from the hub database at scrape time (the same for every process)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the retry queue's depth, when the database answers."""
        depth = retry_queue_depth(self.state)
        if depth is not None:
            yield GaugeMetricFamily(
                "datarun_application_retry_queue",
                "application materials whose source was unavailable, waiting to be retried",
                value=depth,
            )


class Combined(Collector):
    """Several collectors exposed as one, for ``generate_latest``."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Any]:
        """Yield every part's metrics."""
        for part in self.parts:
            yield from part.collect()
