"""ASGI middleware: request ids (with the one log line per request) and a cap on body size."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.core.errors import PROBLEM_JSON
from exchange.core.logs import request_id_var

log = logging.getLogger("datarun.request")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# Told (method, route template, status, seconds) when a request ends: the hub's metrics.
ResponseObserver = Callable[[str, str, int, float], None]
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """Return the template of the route that served ``scope`` (never the path: no keys)."""
    fastapi = scope.get("fastapi")
    if isinstance(fastapi, dict):  # FastAPI's view of the route, its routers' prefixes included
        template = getattr(fastapi.get("effective_route_context"), "path_format", None)
        if isinstance(template, str):
            return template
    route = scope.get("route")
    if route is None and "endpoint" in scope:  # a plain Starlette route or mount (/docs, files)
        route = _route_of(scope.get("router"), scope["endpoint"])
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


def _route_of(router: Any, endpoint: Any) -> Any:
    for candidate in getattr(router, "routes", ()):
        if endpoint is getattr(candidate, "endpoint", None) or endpoint is getattr(
            candidate, "app", None
        ):
            return candidate
    return None


class _RequestIds:
    """Unique request ids without a system call each: a random process prefix and a counter.

    ``uuid4`` reads os.urandom, which releases the GIL on the event loop's thread for every
    request (a worker thread then keeps it for its slice). An id needs to be unique, not
    secret: 16 random hex digits per process (drawn again in a forked child) and 16 of a
    counter, 32 in all like a uuid4's hex.
    """

    def __init__(self) -> None:
        self._restart()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._restart)

    def _restart(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


new_request_id = _RequestIds()


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed incoming one) and echo it back.

    When the answer is sent it logs one line (method, route template, status, duration:
    never the path, the query string or a body, which may hold keys) and tells ``observe``
    (the metrics) the same.
    """

    def __init__(self, app: ASGIApp, observe: ResponseObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            log.info(
                "%s %s -> %s in %.1f ms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            if self.observe is not None:
                self.observe(method, route, status, elapsed)
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse bodies larger than ``max_bytes`` with 413, whether declared or streamed."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        on_reject: Callable[[Scope], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject  # e.g. the access log's denied entry for a data route

    async def _reject(self, scope: Scope, send: Send) -> None:
        if self.on_reject is not None:
            await self.on_reject(scope)
        body: dict[str, Any] = {
            "type": "https://datarun.zj.gov.cn/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds {self.max_bytes} bytes",
            "instance": scope["path"],
        }
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._reject(scope, send)


class _BodyTooLarge(Exception):
    pass
