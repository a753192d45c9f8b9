"""The audit step every route that returns personal data passes through (fail closed).

A data route belongs to a router with ``route_class=AuditedRoute`` and declares
``trail: AuditedDataRoute``. The dependency gives it an ``AuditTrail`` to note what the
request asked (resource, items, keys, purpose, case) and to append its entries; the route
answers with data only after ``await trail.append(...)`` returned, i.e. after the entries
are committed. Around the route, before anything is sent, ``AuditedRoute`` makes sure that:

- a refusal (any ``DomainError``, or a request FastAPI could not parse) appends one
  ``denied`` entry per key asked (``source_error`` for a ``SourceError``), then the error
  goes out; if that append fails the caller gets 503 instead;
- a route that returns without having appended is turned into 503: its response, whatever
  it holds, is never sent.

Every route under ``DATA_PREFIXES`` must be an ``AuditedRoute`` and declare the marker;
``tests/records`` walks the app's routes and fails otherwise. Authentication comes first: a
request without a valid token (401) reaches no data decision and is not logged here.

A body over the size limit is refused by the middleware before any route runs (413);
``audit_oversized_body`` is its hook and appends a ``denied`` entry for an authenticated
caller (the body is not read, so the entry names no items, purpose or key).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.types import Scope

from exchange.audit.errors import AuditUnavailable
from exchange.audit.log import AuditLog
from exchange.audit.records import AppendedEntry, AuditRecord, Decision
from exchange.core.errors import DomainError, Unauthorized
from exchange.core.inputs import pending_refusal
from exchange.identity.principal import Principal
from exchange.identity.tokens import verify_access_token
from exchange.records.callers import DataPrincipal
from exchange.records.errors import SourceError

log = logging.getLogger("datarun.records.audit")

# Every route under these prefixes returns personal data and must carry AuditedDataRoute.
DATA_PREFIXES = ("/v1/records", "/v1/applications")


class AuditTrail:
    """What one data request tells the access log, and the only way it answers with data."""

    def __init__(self, *, audit: AuditLog, principal: Principal, request_id: str | None):
        self.audit = audit
        self.principal = principal
        self.request_id = request_id
        self.started = time.perf_counter()
        self.recorded = False
        self.appended: list[AppendedEntry] = []
        self.resource_code: str | None = None
        self.resource_version: str | None = None
        self.provider: str | None = None
        self.items_requested: list[str] = []
        self.keys: list[str] = []
        self.purpose: str | None = None
        self.case_id: str | None = None
        self.policy_version: int | None = None
        self.grant_ids: list[int] = []

    def note(self, **fields: Any) -> None:
        """Remember what the request asked, for the entries appended later."""
        for name, value in fields.items():
            if not hasattr(self, name):
                raise AttributeError(name)
            setattr(self, name, value)

    def entries(
        self,
        *,
        decision: Decision,
        outcome: int,
        reason: str | None = None,
        returned: Mapping[str, tuple[Sequence[str], int]] | None = None,
        response_hash: str | None = None,
    ) -> list[AuditRecord]:
        """Return one record per key asked (one without a subject when no key is known).

        ``returned`` maps each key to the items returned for it and its record count.
        """
        p = self.principal
        latency = int((time.perf_counter() - self.started) * 1000)
        found: dict[str | None, tuple[Sequence[str], int]] = {}
        found.update((k, v) for k, v in (returned or {}).items())
        subjects: list[str | None] = list(self.keys) or [None]
        return [
            AuditRecord(
                decision=decision,
                outcome=outcome,
                request_id=self.request_id,
                system=p.client_id if p.kind == "system" and p.client_id else p.subject,
                department=p.department,
                token_jti=p.token_id,
                provider=self.provider,
                resource_code=self.resource_code,
                resource_version=self.resource_version,
                items_requested=list(self.items_requested),
                items_returned=list(found[key][0]) if key in found else [],
                subject_key=key,
                purpose=self.purpose,
                case_id=self.case_id,
                grant_ids=list(self.grant_ids),
                reason=reason,
                policy_version=self.policy_version,
                record_count=found[key][1] if key in found else 0,
                latency_ms=latency,
                response_hash=response_hash,
            )
            for key in subjects
        ]

    async def append(self, records: Sequence[AuditRecord]) -> list[AppendedEntry]:
        """Commit ``records`` (all or none); raise ``AuditUnavailable`` (503) if not."""
        self.recorded = True  # attempted: a failure is not retried as a denial
        self.appended = await self.audit.aappend_many(records)
        return self.appended

    async def refuse(self, error: DomainError | RequestValidationError) -> None:
        """Append the entries of a refusal (denied, or source_error for a source failure)."""
        if isinstance(error, DomainError):
            decision: Decision = "source_error" if isinstance(error, SourceError) else "denied"
            outcome, reason = error.status, error.detail
            if error.errors:  # name the fields, e.g. which key failed its check digit
                reason += (
                    " ("
                    + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.errors)
                    + ")"
                )
        else:
            decision, outcome = "denied", 422
            reason = "invalid request: " + "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                for e in error.errors()
            )
        await self.append(self.entries(decision=decision, outcome=outcome, reason=reason))


async def audit_trail(request: Request, principal: DataPrincipal) -> AuditTrail:
    """Give a data route its audit trail (AuditedRoute logs and checks it around the route)."""
    trail = AuditTrail(
        audit=request.app.state.audit,
        principal=principal,
        request_id=getattr(request.state, "request_id", None),
    )
    # Known before any parameter is parsed, so even a malformed request names its resource.
    trail.resource_code = request.path_params.get("code")
    request.state.audit_trail = trail
    refusal = pending_refusal(request)  # U+0000 in the input (exchange/core/inputs.py)
    if refusal is not None:
        raise refusal  # now that the trail exists: logged as denied, then answered 422
    return trail


# The marker of a route that returns personal data (see the module docstring).
AuditedDataRoute = Annotated[AuditTrail, Depends(audit_trail)]


class AuditedRoute(APIRoute):
    """The route class of every data route: each outcome logged, no answer without it.

    Wraps the route's handler (dependencies, endpoint and its response object, before the
    response is sent): a refusal raised by the route or by FastAPI's validation appends
    its entries first; an answer whose entries were not appended becomes a 503.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return the route's handler, wrapped by the audit step."""
        return self.audit_around(super().get_route_handler())

    @staticmethod
    def audit_around(
        handler: Callable[[Request], Coroutine[Any, Any, Response]],
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return ``handler`` wrapped by the audit step (see the class docstring)."""

        async def audited(request: Request) -> Response:
            try:
                response = await handler(request)
            except AuditUnavailable:
                raise
            except (DomainError, RequestValidationError) as exc:
                trail = getattr(request.state, "audit_trail", None)
                if trail is not None and not trail.recorded:
                    await trail.refuse(exc)  # AuditUnavailable (503) replaces exc if it fails
                raise
            trail = getattr(request.state, "audit_trail", None)
            if trail is None or not trail.recorded:
                raise AuditUnavailable("the route answered without appending its access-log entry")
            return response

        return audited


def _resource_of(path: str) -> str | None:
    prefix = "/v1/records/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :].removesuffix("/lookup") or None


async def audit_oversized_body(scope: Scope) -> None:
    """Append a ``denied`` entry for a data request refused for its body size (413)."""
    path = scope.get("path", "")
    if not path.startswith(DATA_PREFIXES):
        return
    app = scope.get("app")
    header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if app is None or scheme.lower() != "bearer" or not token:
        return
    state = app.state
    try:
        # The key ring may read the database: off the event loop.
        principal = await asyncio.to_thread(
            verify_access_token, state.keyring, state.settings, token.strip()
        )
    except Unauthorized:
        return  # no identity, no data decision: like a 401, not logged here
    trail = AuditTrail(
        audit=state.audit,
        principal=principal,
        request_id=scope.get("state", {}).get("request_id"),
    )
    trail.note(resource_code=_resource_of(path))
    reason = f"request body over the limit of {state.settings.max_body_bytes} bytes (not read)"
    try:
        await trail.append(trail.entries(decision="denied", outcome=413, reason=reason))
    except AuditUnavailable as exc:
        log.error("the denied entry of an oversized body was not logged: %s", exc)
