"""Logging with the request id on every line written while a request is served.

``log_format`` "text" (default) writes readable lines; "json" writes one JSON object a
line for a log collector (``exchange/observability/jsonlog.py``). Both are redacted.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from exchange.observability.jsonlog import JsonFormatter, RedactingFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Attach the current request id to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def _formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else RedactingFormatter(LOG_FORMAT)


def configure_logging(level: int | str = logging.INFO, log_format: str = "text") -> None:
    """Install the request-id filter and the format on the root handler (once; the format
    and level follow the latest call)."""
    root = logging.getLogger()
    root.setLevel(level)
    # httpx logs every request URL at INFO; a GET-style department API carries keys
    # (ID numbers) in its query string, and personal data belongs only in the access log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in root.handlers:
        if any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.setFormatter(_formatter(log_format))
            return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(_formatter(log_format))
    root.addHandler(handler)
