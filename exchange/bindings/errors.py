"""Errors of connector bindings that the generic domain errors do not name."""

from __future__ import annotations

from exchange.core.errors import DomainError, NotFound


class NotBound(NotFound):
    """No enabled connector binding exists for the resource."""


class SourceUnreachable(DomainError):
    """The department's source could not be reached to verify or describe a binding."""

    status, type_slug, title = 424, "source-unavailable", "Source unavailable"
