"""The resilience layer's observer: connector latencies and breaker states as metrics."""

from __future__ import annotations

from connectors.resilience import BreakerState, ResilientConnector
from exchange.observability import metrics


class ConnectorMetrics:
    """Records each guarded connector call and each breaker change (``ResilienceObserver``)."""

    def call_finished(
        self, connector: ResilientConnector, operation: str, outcome: str, seconds: float
    ) -> None:
        """Observe one call's duration under its resource, provider, adapter and outcome."""
        metrics.child(
            metrics.CONNECTOR_CALLS,
            connector.binding.resource_code,
            connector.provider or "",
            connector.inner.name,
            operation,
            outcome,
        ).observe(seconds)

    def breaker_changed(
        self, connector: ResilientConnector, state: BreakerState, opened: bool
    ) -> None:
        """Set the breaker-state gauge; count an opening."""
        labels = (connector.binding.resource_code, connector.provider or "")
        metrics.BREAKER_STATE.labels(*labels).set(metrics.BREAKER_VALUES[state])
        if opened:
            metrics.BREAKER_OPENED.labels(*labels).inc()


connector_metrics = ConnectorMetrics()
