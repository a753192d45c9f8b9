"""Identity endpoints: the token endpoint and the hub's published keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from exchange.core.deps import DbSession
from exchange.identity import keys

router = APIRouter(tags=["identity"])


@router.get("/.well-known/jwks.json")
def jwks(session: DbSession) -> dict[str, Any]:
    """Publish the hub's token-verification keys (JWK Set), including those in overlap."""
    return {"keys": [k.public_jwk for k in keys.published_keys(session)]}
