"""The record pull's shortcut past routing: a request already known to be the lookup route's.

FastAPI 0.165 finds a route by walking its included routers' effective route contexts,
matching each, copying scope keys and wrapping the route in an exit stack: about a tenth of a
pull's CPU (``python -m benchmarks.pulls_in_process``), for a decision that is the same for
every pull. ``RecordsShortcut`` is the innermost of the app's own middlewares (request id,
rate limit and body size stay in front of it). It lets the first pull through FastAPI's
routing and learns from the scope what routing chose there: the lookup route
(``DirectAuditedRoute``), its effective route context and the exception handlers. Later
requests that this context matches in full (path and method) are handed to the route
directly, with the scope keys routing would have set and the app's exception handlers
around it (Starlette's ``ExceptionMiddleware``, as in the app's own stack).

It takes a request only when the route itself would serve it directly (no dependency
override, the known dependency tree: ``DirectAuditedRoute.trail_name_for``); anything else
— another path, a GET, an override in a test — goes through routing untouched. The lookup
route must be the first route of the app that can match a lookup path (the records router
is included first); ``tests/records/test_shortcut.py`` checks that, and that answers and
access-log entries are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.records.direct import SERVED_DIRECTLY, DirectAuditedRoute

_TRAIL = "datarun.direct_trail"  # scope key: the trail parameter of a shortcut request


@dataclass(frozen=True)
class _Known:
    """What routing chose for the first pull, reused for the next ones."""

    route: DirectAuditedRoute
    context: Any  # FastAPI's effective route context of the route (its matches, dependant)
    fastapi: dict[str, Any]  # the scope's "fastapi" keys routing set
    router: Any
    guarded: ExceptionMiddleware


class RecordsShortcut:
    """Hand a lookup request straight to its route once routing has shown which it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._known: _Known | None = None
        self.taken = 0  # requests that took the shortcut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        known = self._known
        if known is not None and scope["type"] == "http" and scope["method"] == "POST":
            match, child = known.context.matches(scope)
            if match is Match.FULL:
                trail = known.route.trail_name_for(scope.get("app"), known.context.dependant)
                if trail is not None:
                    self.taken += 1
                    scope.update(child)
                    scope["route"] = known.route
                    scope.setdefault("fastapi", {}).update(known.fastapi)
                    scope.setdefault("router", known.router)
                    scope[_TRAIL] = trail
                    await known.guarded(scope, receive, send)
                    return
        await self.app(scope, receive, send)
        if known is None and scope.get(SERVED_DIRECTLY) is True:
            self._known = _learn(scope)


def _learn(scope: Scope) -> _Known | None:
    """Return what routing chose for this directly served pull (None: nothing to reuse)."""
    found = scope.get("route")
    fastapi = scope.get("fastapi")
    handlers = scope.get("starlette.exception_handlers")
    if not isinstance(found, DirectAuditedRoute) or not isinstance(fastapi, dict):
        return None
    route = cast(DirectAuditedRoute, found)  # mypy does not narrow a subclass of an Any base
    context = fastapi.get("effective_route_context")
    if getattr(context, "original_route", None) is not route or not callable(
        getattr(context, "matches", None)
    ):
        return None
    if not (isinstance(handlers, tuple) and len(handlers) == 2):
        return None
    exception_handlers, status_handlers = handlers  # as the app's ExceptionMiddleware has them
    guarded = ExceptionMiddleware(
        _Serve(route),
        handlers={**exception_handlers, **status_handlers},
        debug=bool(getattr(scope.get("app"), "debug", False)),
    )
    return _Known(route, context, dict(fastapi), scope.get("router"), guarded)


class _Serve:
    """The route's direct service as an ASGI app (inside the exception handlers)."""

    def __init__(self, route: DirectAuditedRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.route.serve(scope, receive, send, scope[_TRAIL])
