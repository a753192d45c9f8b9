"""Operations: Prometheus metrics, the metered access log, JSON logs and their redaction.

``metrics`` defines every metric the hub exports (one module, so names and labels are
seen together); ``audit`` wraps ``app.state.audit`` to count decisions and time appends;
``collectors`` reads what is only known at scrape time (breaker states, the applications'
retry queue); ``router`` serves ``GET /metrics``; ``jsonlog`` formats and redacts log lines.
"""
