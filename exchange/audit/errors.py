"""Errors of the access log."""

from __future__ import annotations

from typing import Any

from exchange.core.errors import ServiceUnavailable

RETRY_AFTER_SECONDS = 2  # as the database-outage 503s say (exchange/health/outage.py)


class AuditUnavailable(ServiceUnavailable):
    """The access log cannot be written: the caller gets 503 and no data (fail closed)."""

    type_slug, title = "audit-unavailable", "Access log unavailable"

    def __init__(self, detail: str, **kw: Any) -> None:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(kw.pop("headers", None) or {})}
        super().__init__(detail, headers=headers, **kw)
