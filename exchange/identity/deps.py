"""Dependency aliases: an endpoint without ``CurrentPrincipal`` is public."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exchange.core.errors import Unauthorized
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.identity.tokens import verify_access_token

bearer = HTTPBearer(auto_error=False, description="access token from /oauth/token")


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Verify the bearer token (or recall it, verified moments ago) and return the caller."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer access token is required", error="invalid_request")
    state = request.app.state
    token = credentials.credentials
    principal = state.verified_tokens.get(token)
    if principal is None:
        principal = verify_access_token(state.keyring, state.settings, token)
        state.verified_tokens.put(token, principal)
    request.state.principal = principal
    return principal


def get_authorizer(request: Request) -> Authorizer:
    """Return the app's casbin authorizer."""
    authorizer: Authorizer = request.app.state.authorizer
    return authorizer


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Authz = Annotated[Authorizer, Depends(get_authorizer)]
