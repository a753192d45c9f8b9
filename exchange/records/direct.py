"""The record pull's hot path: its few dependencies resolved by hand, not by FastAPI's solver.

A record pull is the hub's most frequent request. FastAPI's generic machinery around an
endpoint (the dependency solver, two exit stacks, the per-request exception wrapper) costs
about a quarter of a pull's CPU (py-spy over ``python -m benchmarks.bench_pulls``).
``DirectAuditedRoute`` is an ``AuditedRoute`` whose ``handle`` calls the very functions FastAPI
would call, in the same order: the app's ``refuse_nul``, then ``bearer`` → ``data_principal``
→ ``audit_trail``, then the endpoint with its path parameters, the request and the trail —
inside the same audit step (``AuditedRoute.audit_around``). Errors go to the app's exception
handlers, as from any route.

It does so only where that is exactly what FastAPI would do: the route's resolved dependency
tree (checked once per route context, against the dependant FastAPI built, app-wide
dependencies included) is that one, the endpoint takes nothing else (no query, header,
cookie or body parameters), and no dependency override is set. Otherwise — a new app-wide
dependency, a test's override, a FastAPI whose internals moved — the request goes through
FastAPI like any other route's, and nothing changes but the speed. ``tests/records`` checks
both ways.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from exchange.core.inputs import refuse_nul
from exchange.identity.deps import bearer
from exchange.records.audited import AuditedRoute, audit_trail
from exchange.records.callers import data_principal

log = logging.getLogger("datarun.records")
_MAX_PLANS = 64
SERVED_DIRECTLY = "datarun.served_directly"  # scope key: this request was served directly


class DirectAuditedRoute(AuditedRoute):
    """An audited data route whose dependencies are resolved without FastAPI's solver."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._direct = self.audit_around(self._call_endpoint)
        # id(dependant) → (the dependant, held so that its id stays its own; the trail
        # parameter's name, or None: through FastAPI's solver). One per app serving the
        # route: one in production, a few in a test run (forgotten beyond _MAX_PLANS).
        self._plans: dict[int, tuple[Dependant, str | None]] = {}
        self.served_directly = 0  # requests served here rather than through FastAPI's solver

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request directly when that is what FastAPI would do; else via FastAPI."""
        trail_name = self.trail_name_for(scope.get("app"), self._dependant(scope))
        if trail_name is None or scope["method"] not in (self.methods or ()):
            await super().handle(scope, receive, send)
            return
        await self.serve(scope, receive, send, trail_name)

    async def serve(self, scope: Scope, receive: Receive, send: Send, trail_name: str) -> None:
        """Serve a request routed here directly (``trail_name``: from ``trail_name_for``)."""
        self.served_directly += 1
        scope[SERVED_DIRECTLY] = True  # what exchange/records/shortcut.py learns from
        request = Request(scope, receive, send)
        request.state.direct_trail_name = trail_name
        response = await self._direct(request)
        await response(scope, receive, send)

    def trail_name_for(self, app: Any, dependant: Dependant) -> str | None:
        """Return the endpoint's trail parameter if ``app`` may serve it directly, else None.

        ``dependant``: the route's resolved tree in that app (its app-wide dependencies
        included). None when the app has dependency overrides or the tree is another.
        """
        if app is None or getattr(app, "dependency_overrides", None):
            return None
        plan = self._plans.get(id(dependant))
        if plan is None:
            plan = (dependant, _direct_trail(dependant))
            if len(self._plans) >= _MAX_PLANS:
                self._plans = {}
            self._plans[id(dependant)] = plan
            if plan[1] is None:
                log.info("%s %s is served through FastAPI's solver", self.methods, self.path)
        return plan[1]

    def _dependant(self, scope: Scope) -> Dependant:
        fastapi_scope = scope.get("fastapi")
        context = None
        if isinstance(fastapi_scope, dict):  # FastAPI resolving included routes lazily
            context = fastapi_scope.get("effective_route_context")
        dependant = getattr(context, "dependant", None)
        if getattr(context, "original_route", None) is self and isinstance(dependant, Dependant):
            return dependant  # app-wide and router dependencies included
        return self.dependant

    async def _call_endpoint(self, request: Request) -> Response:
        await refuse_nul(request)
        principal = await data_principal(request, await bearer(request))
        trail = await audit_trail(request, principal)
        arguments: dict[str, Any] = dict(request.path_params)
        arguments[self.dependant.request_param_name or "request"] = request
        arguments[request.state.direct_trail_name] = trail
        response: Response = await self.endpoint(**arguments)
        return response


def _direct_trail(dependant: Dependant) -> str | None:
    """Return the trail parameter's name if the tree is the one served directly, else None.

    The tree must be: ``refuse_nul``; ``audit_trail`` (the endpoint's trail) depending only
    on ``data_principal``, which depends only on ``bearer``; path parameters and the
    ``Request``; nothing else.
    """
    if (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or not dependant.request_param_name
        or dependant.websocket_param_name
        or dependant.background_tasks_param_name
        or dependant.response_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    calls = [d.call for d in dependant.dependencies]
    if calls != [refuse_nul, audit_trail]:
        return None
    refuse, trail = dependant.dependencies
    if refuse.dependencies or refuse.query_params or refuse.body_params or refuse.name:
        return None
    if [d.call for d in trail.dependencies] != [data_principal]:
        return None
    (principal,) = trail.dependencies
    if [d.call for d in principal.dependencies] != [bearer]:
        return None
    for sub in (trail, principal, *principal.dependencies):
        if sub.query_params or sub.header_params or sub.cookie_params or sub.body_params:
            return None
    return trail.name
