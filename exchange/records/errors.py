"""Errors of the record-pull path that the generic domain errors do not name."""

from __future__ import annotations

from exchange.core.errors import ServiceUnavailable


class SourceError(ServiceUnavailable):
    """The provider's source could not answer (down, slow, unbound, misconfigured): 503.

    Always 503, whatever the cause (a timeout included), so a caller has one status to retry
    on; ``source_reason`` in the problem says why, and ``Retry-After`` is set when known
    (an open circuit breaker knows when it will try again).
    """

    type_slug, title = "source-unavailable", "Source unavailable"
