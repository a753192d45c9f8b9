"""The token endpoint's own rate limit: by the client a request names, else by its address.

``/oauth/token`` is public, and every request to it costs a database look-up and a
signature verification before the hub knows who sent it; so it is limited before that
work, by what the request says about itself. A request naming a registered client id
(``client_id``, else the ``iss`` of its client assertion, read without verifying it)
spends that client's bucket; one naming none, or a client id nobody registered, spends
the bucket of its address (made-up client ids would otherwise each get a fresh bucket).
Beyond it: 429 problem+json with Retry-After, as the per-system limit answers, counted by
``datarun_token_rate_limited_total``. ``token_rate_limit_per_second`` 0 turns it off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import jwt
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response
from starlette.types import Scope

from exchange.core.settings import Settings
from exchange.identity import repository
from exchange.limits.buckets import RateLimiter
from exchange.limits.middleware import refusal
from exchange.observability import metrics
from exchange.observability.dberrors import describe_db_error

log = logging.getLogger("datarun.limits")

LIMIT = "token-request rate limit"


def named_client(params: Mapping[str, list[str]]) -> str | None:
    """Return the client id a token request names: ``client_id``, else its assertion's iss."""
    ids = params.get("client_id", [])
    if len(ids) == 1 and ids[0]:
        return ids[0]
    assertions = params.get("client_assertion", [])
    if len(assertions) != 1:
        return None
    try:
        issuer = jwt.decode(assertions[0], options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) and issuer else None


def address(scope: Scope) -> str:
    """Return the caller's address (the proxy's X-Forwarded-For, as uvicorn trusts it)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class KnownClients:
    """The registered client ids, re-read at most once per ``min_interval`` on a miss.

    A miss re-reads (a system registered a moment ago is known within a second), but
    made-up client ids cannot make every request a database query.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._min_interval = min_interval
        self._clock = clock
        self._ids: frozenset[str] = frozenset()
        self._loaded_at = -min_interval

    async def registered(self, client_id: str) -> bool:
        """Say whether ``client_id`` is a registered system's (False while the database is down)."""
        if client_id in self._ids:
            return True
        now = self._clock()
        if now - self._loaded_at < self._min_interval:
            return False
        self._loaded_at = now  # before the read: concurrent misses do not all re-read
        try:
            self._ids = await asyncio.to_thread(self._load)
        except Exception as exc:  # the token route itself answers the outage (503)
            log.debug("registered client ids unknown: %s", describe_db_error(exc))
            return False
        return client_id in self._ids

    def _load(self) -> frozenset[str]:
        with self._factory() as session:
            return frozenset(repository.client_ids(session))


class TokenRateLimit:
    """The token endpoint's buckets (see the module docstring)."""

    def __init__(self, limiter: RateLimiter, clients: KnownClients) -> None:
        self.limiter = limiter
        self.clients = clients

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> TokenRateLimit:
        """Build the limit the settings describe, reading client ids through ``factory``."""
        return cls(RateLimiter.for_token_endpoint(settings), KnownClients(factory))

    async def refuse(self, scope: Scope, params: Mapping[str, list[str]]) -> Response | None:
        """Take one token for the request's client (or address); return a 429 if none is left."""
        if not self.limiter.enabled:
            return None
        client = named_client(params)
        if client is not None and await self.clients.registered(client):
            key, who, label = f"client:{client}", client, client
        else:
            who = address(scope)
            key, label = f"address:{who}", metrics.ANONYMOUS_CLIENT
        verdict = await self.limiter.take(key)
        if verdict.allowed:
            return None
        metrics.TOKEN_RATE_LIMITED.labels(label).inc()
        response = refusal(scope, who, verdict, limit=LIMIT)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def close(self) -> None:
        """Release the Redis client."""
        await self.limiter.close()
