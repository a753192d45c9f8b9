"""The per-system rate limit, before any route runs: 429 problem+json with Retry-After.

The caller is known by its bearer token: a token the hub verified moments ago is
recalled from ``app.state.verified_tokens``; another is verified here (off the event
loop) and remembered, so the route's own check finds it. A request without a valid
token passes on untouched (the route answers 401); it reaches no data and spends no
caller's budget (``/oauth/token``, where tokens come from, has its own limit:
``exchange/limits/token.py``). Probes and metrics (``/healthz``, ``/readyz``,
``/metrics``) are never limited. A refused request is not a data decision and is not in
the access log; the ``datarun_rate_limited_total`` metric counts it by system.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.core.errors import PROBLEM_JSON
from exchange.identity.principal import Principal
from exchange.identity.tokens import verify_access_token
from exchange.limits.buckets import RateLimiter
from exchange.limits.rules import Verdict
from exchange.observability import metrics

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def bearer_token(scope: Scope) -> str | None:
    """Return the bearer token of the request, if it has one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


async def caller(scope: Scope, token: str) -> Principal | None:
    """Return the principal of a valid token (recalled, or verified now), else None."""
    app = scope.get("app")
    state = getattr(app, "state", None)
    tokens = getattr(state, "verified_tokens", None)
    if state is None or tokens is None:
        return None
    principal: Principal | None = tokens.get(token)
    if principal is not None:
        return principal
    try:
        principal = await asyncio.to_thread(
            verify_access_token, state.keyring, state.settings, token
        )
    except Exception:  # invalid, or the key ring unreachable: the route decides
        return None
    tokens.put(token, principal)
    return principal


class RateLimitMiddleware:
    """Refuse a caller over its token bucket with 429 (see the module docstring)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        principal = await caller(scope, token) if token else None
        if principal is None:
            await self.app(scope, receive, send)
            return
        key = principal.client_id or principal.subject
        verdict = await self.limiter.take(key)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        metrics.RATE_LIMITED.labels(key).inc()
        await refusal(scope, key, verdict)(scope, receive, send)


def refusal(scope: Scope, who: str, verdict: Verdict, *, limit: str = "rate limit") -> Response:
    """Return the 429 problem+json answer (with Retry-After) for ``who`` over ``limit``."""
    body: dict[str, Any] = {
        "type": "https://datarun.zj.gov.cn/problems/rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": f"{who} is over its {limit} of {verdict.rate:g} requests a second "
        f"(burst {verdict.burst}); retry after {verdict.retry_after_header} s",
        "instance": scope["path"],
        "retry_after": int(verdict.retry_after_header),
    }
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    return Response(
        json.dumps(body),
        status_code=429,
        media_type=PROBLEM_JSON,
        headers={"Retry-After": verdict.retry_after_header},
    )
