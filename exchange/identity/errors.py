"""The token endpoint's own error (RFC 6749 §5.2), distinct from problem+json."""

from __future__ import annotations


class OAuthError(Exception):
    """A token-endpoint failure, rendered as ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, *, status: int | None = None) -> None:
        super().__init__(description)
        self.error = error
        # RFC 6749 §5.2 allows printable ASCII except '"' and '\\' in error_description.
        self.description = "".join(
            c if " " <= c <= "~" and c not in '"\\' else "?" for c in description
        )
        self.status = status or (401 if error == "invalid_client" else 400)


def invalid_client(description: str) -> OAuthError:
    """Return an ``invalid_client`` error (the assertion or the client is not acceptable)."""
    return OAuthError("invalid_client", description)


def invalid_request(description: str) -> OAuthError:
    """Return an ``invalid_request`` error (a parameter is missing, repeated or malformed)."""
    return OAuthError("invalid_request", description)
