"""Errors of the access log."""

from __future__ import annotations

from exchange.core.errors import ServiceUnavailable


class AuditUnavailable(ServiceUnavailable):
    """The access log cannot be written: the caller gets 503 and no data (fail closed)."""

    type_slug, title = "audit-unavailable", "Access log unavailable"
