"""``CurrentCitizen``: the tracker's own dependency; hub principals' tokens do not pass it."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exchange.core.errors import ServiceUnavailable, Unauthorized
from exchange.core.settings import Settings
from exchange.tracker.citizens import Citizen, verify_citizen_token
from exchange.tracker.keys import ProviderKeys

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="CitizenToken",
    description="a token of the citizen identity provider (浙里办 / 统一身份认证)",
)
_keys_lock = threading.Lock()


def provider_keys(request: Request) -> ProviderKeys:
    """Return the app's citizen-IdP key cache, made on first use; 503 if not configured."""
    keys: ProviderKeys | None = getattr(request.app.state, "citizen_keys", None)
    if keys is not None:
        return keys
    settings: Settings = request.app.state.settings
    if not settings.citizen_idp_issuer:
        raise ServiceUnavailable(
            "the data tracker is not configured: set DATARUN_CITIZEN_IDP_ISSUER and its JWKS"
        )
    with _keys_lock:
        keys = getattr(request.app.state, "citizen_keys", None)
        if keys is None:
            try:
                keys = ProviderKeys(settings)
            except ValueError as exc:
                raise ServiceUnavailable(f"the data tracker is misconfigured: {exc}") from exc
            request.app.state.citizen_keys = keys
    return keys


def current_citizen(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Citizen:
    """Verify the citizen's bearer token and return the citizen."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token of the citizen identity provider is required")
    citizen = verify_citizen_token(
        provider_keys(request), request.app.state.settings, credentials.credentials
    )
    request.state.citizen = citizen
    return citizen


CurrentCitizen = Annotated[Citizen, Depends(current_citizen)]
