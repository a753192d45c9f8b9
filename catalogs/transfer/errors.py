"""Errors of catalogue import that the shared hierarchy has no class for."""

from __future__ import annotations

from exchange.core.errors import DomainError


class UnsupportedMediaType(DomainError):
    """The upload is neither a CSV sheet nor a JSON document."""

    status, type_slug, title = 415, "unsupported-media-type", "Unsupported media type"
