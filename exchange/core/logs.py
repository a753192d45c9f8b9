"""Logging with the request id on every line written while a request is served."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Attach the current request id to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def configure_logging(level: int | str = logging.INFO) -> None:
    """Install the request-id filter and format on the root handler (once)."""
    root = logging.getLogger()
    root.setLevel(level)
    # httpx logs every request URL at INFO; a GET-style department API carries keys
    # (ID numbers) in its query string, and personal data belongs only in the access log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
