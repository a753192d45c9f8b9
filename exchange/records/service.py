"""Record pulls: check, decide, look up the granted items only, mask, hash, log, answer.

The checks run in this order and each refusal is logged (by the route's ``AuditTrail``)
before it is answered: the caller is a department system (403); the resource exists and
is published (404; a retired entry 409) and shareable (不予共享 → 403 citing its legal
basis); the items are named and exist (422); the purpose is a service item or one-thing
(422); the batch is within ``records_max_batch`` (422); every key passes its key item's
check (GB 11643 / GB 32100 check digit or type, 422) — all before any source is touched;
the case, if named, is the caller's department's (403); the grant covers the items (403
naming the denied ones, unless ``partial=allow``). Then the connector is asked for the
granted items only, values are masked where the grant says so, and the entries are
committed before the answer is returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from connectors.base import BindingInvalid, Connector, LookupResult, SourceUnavailable
from exchange.bindings.errors import NotBound
from exchange.bindings.pool import ConnectorPool
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, Forbidden, InvalidInput, NotFound, field_path
from exchange.core.settings import Settings
from exchange.grants.enforcer import Decision
from exchange.grants.rules import not_shared_reason
from exchange.records import rules
from exchange.records.audited import AuditTrail
from exchange.records.callers import CallerCheck, GrantDecisions
from exchange.records.cases import CaseOwner, case_owner
from exchange.records.catalogue import CatalogueCache, ResourceView
from exchange.records.errors import SourceError
from exchange.records.masking import mask_value, should_mask
from exchange.records.schemas import LookupRequest

log = logging.getLogger("datarun.records")

PULLABLE = ("published", "deprecated")  # a deprecated entry is served until retired
CODE_MAX_LENGTH = 32
# Source failures whose message the hub's resilience layer writes (never a driver's text).
OWN_MESSAGES = frozenset({"overloaded", "circuit_open"})


@dataclass(frozen=True)
class Hub:
    """What a pull uses of the running hub."""

    settings: Settings
    callers: CallerCheck
    grant_policy: GrantDecisions
    connector_pool: ConnectorPool
    catalogue: CatalogueCache
    case_owner: CaseOwner


def hub_for(state: Any) -> Hub:
    """Return what a pull uses of the running hub (``app.state``), made on first use."""
    catalogue = getattr(state, "records_catalogue", None)
    if catalogue is None:  # app.py only includes the router
        ttl = state.settings.records_catalogue_ttl_seconds
        catalogue = state.records_catalogue = CatalogueCache(state.sessionmaker, ttl=ttl)
        state.records_callers = CallerCheck(state.authorizer)
        state.records_decisions = GrantDecisions(state.grant_policy)
    return Hub(
        settings=state.settings,
        callers=state.records_callers,
        grant_policy=state.records_decisions,
        connector_pool=state.connector_pool,
        catalogue=catalogue,
        case_owner=case_owner(state),
    )


@dataclass(frozen=True)
class Answer:
    """A pull's answer, already logged: the JSON body and the records' SHA-256."""

    body: bytes
    records_sha256: str
    seqs: tuple[int, int]  # first and last access-log entry


@dataclass(frozen=True)
class Pulled:
    """A pull's result as data, already logged (what an in-process caller uses).

    ``records`` are exactly the records of the HTTP answer (``{"key", "values",
    "provenance"}``), ``records_json`` their canonical bytes and ``records_sha256`` the hash
    the access-log entries carry.
    """

    view: ResourceView
    decision: Decision
    items: list[str]
    masked: list[str]
    records: list[dict[str, Any]]
    records_json: bytes
    records_sha256: str
    missing: list[str]
    truncated: bool
    seqs: tuple[int, int]


def parse_request(trail: AuditTrail, data: Any, *, max_batch: int) -> LookupRequest:
    """Validate a lookup body; note what it asked first, so a refusal is logged with it."""
    if isinstance(data, dict):
        keys, items = data.get("keys"), data.get("items")
        if isinstance(keys, list) and _strings(keys) and len(keys) <= max_batch:
            trail.note(keys=keys)
        if isinstance(items, list) and _strings(items) and len(items) <= 1000:
            trail.note(items_requested=items)
        for name in ("purpose", "case_id"):
            if isinstance(data.get(name), str):
                trail.note(**{name: data[name]})
    try:
        return LookupRequest.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": field_path(e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors}))
        raise InvalidInput(f"invalid value for: {fields}", errors=errors) from None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_resource(view: ResourceView | None, code: str) -> ResourceView:
    """Return the entry if records may be pulled from it; raise the refusal otherwise."""
    if view is None:
        raise NotFound(f"no resource {code} in the catalogue")
    if view.status == "draft":
        raise NotFound(f"resource {code} is not published")
    if view.status not in PULLABLE:
        raise Conflict(f"resource {code} is {view.status}: only published entries are pulled")
    if view.share_type == "none":
        raise Forbidden(not_shared_reason(view.legal_basis), legal_basis=view.legal_basis)
    return view


async def pull(*, hub: Hub, trail: AuditTrail, code: str, ask: LookupRequest) -> Answer:
    """Pull records of ``code`` for ``ask``; every outcome is in the access log first."""
    return _answer_body(trail, ask, await pull_records(hub=hub, trail=trail, code=code, ask=ask))


async def pull_records(
    *,
    hub: Hub,
    trail: AuditTrail,
    code: str,
    ask: LookupRequest,
    timeout: float | None = None,
) -> Pulled:
    """Pull records of ``code`` for ``ask`` and return them as data, logged first.

    The same checks, decision, masking and access-log entries as ``pull``; a refusal is
    raised (the caller logs it with ``trail.refuse``). ``timeout`` bounds the source's
    lookup (a ``SourceError`` "timeout" past it), on top of the connector's own deadline.
    """
    principal = trail.principal
    trail.note(
        resource_code=code,
        items_requested=list(ask.items),
        purpose=ask.purpose,
        case_id=ask.case_id,
    )
    max_batch = hub.settings.records_max_batch
    if len(ask.keys) <= max_batch:
        trail.note(keys=list(ask.keys))
    if not hub.callers.allowed(principal):
        raise Forbidden(f"{principal.subject} may not pull records: department systems only")
    found = await hub.catalogue.resource(code) if len(code) <= CODE_MAX_LENGTH else None
    view = check_resource(found, code)
    trail.note(provider=view.provider, resource_version=view.version)
    problems = rules.item_problems(ask.items, view.items, resource=code)
    if problems:
        named = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise InvalidInput(f"items not pullable from {code}: {named}", errors=problems)
    if not await hub.catalogue.purpose_known(ask.purpose):
        message = f"{ask.purpose!r} is not a service item (办事事项) or one-thing (一件事)"
        raise InvalidInput(message, errors=[rules.problem("purpose", message)])
    if len(ask.keys) > max_batch:
        message = f"at most {max_batch} keys per lookup, not {len(ask.keys)}"
        raise InvalidInput(message, errors=[rules.problem("keys", message)])
    problems = rules.key_problems(view.key_kind, ask.keys)
    if problems:
        what = view.key_item or "the key"
        raise InvalidInput(f"invalid {what} in keys", errors=problems)
    if ask.case_id is not None:
        owner = await hub.case_owner(ask.case_id)
        if owner is not None and owner != principal.department:
            raise Forbidden(f"case {ask.case_id} belongs to another department")
    decision = hub.grant_policy.decide(
        system=principal.client_id if principal.kind == "system" else None,
        department=principal.department,
        resource_code=code,
        items=ask.items,
        purpose=ask.purpose,
    )
    trail.note(
        policy_version=decision.policy_version,
        grant_ids=sorted(set(decision.grant_ids.values())),
    )
    _require_grant(decision, principal.department, code, ask)
    connector, result = await _lookup(hub, code, ask.keys, decision.allowed_items, timeout)
    return await _logged(trail, view, ask, decision, connector, result)


def _require_grant(decision: Decision, department: str, code: str, ask: LookupRequest) -> None:
    denied = list(decision.denied_items)
    where = f"of {code} for purpose {ask.purpose}"
    if not decision.allowed_items:
        raise Forbidden(
            f"no grant of {department} covers any item asked {where}: {', '.join(denied)}",
            denied_items=denied,
        )
    if denied and ask.partial == "deny":
        raise Forbidden(
            f"items outside the grant {where}: {', '.join(denied)} "
            "(ask with partial=allow for the granted items only)",
            denied_items=denied,
        )


async def _lookup(
    hub: Hub, code: str, keys: Sequence[str], items: Sequence[str], timeout: float | None
) -> tuple[Connector, LookupResult]:
    try:
        if timeout is None:  # a pull: the connector's own deadline is the bound
            return await _ask(hub, code, keys, items)
        async with asyncio.timeout(timeout):
            return await _ask(hub, code, keys, items)
    except TimeoutError:
        if timeout is None:  # not ours: the resilience layer turns its own into SourceError
            raise
        raise SourceError(
            f"the source of {code} did not answer within {timeout:g} s",
            source_reason="timeout",
            transient=True,
        ) from None
    except NotBound:
        raise SourceError(
            f"resource {code} has no enabled connector binding", source_reason="not_bound"
        ) from None
    except BindingInvalid as exc:
        raise SourceError(
            f"the connector binding of {code} is invalid: {exc}", source_reason="binding_invalid"
        ) from None
    except SourceUnavailable as exc:
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        # A driver's or department API's own message may name its host, port or user, and
        # the caller is another department: it gets the reason only, unless the hub wrote
        # the message itself (a busy department, an open breaker). Operators' log has it
        # all (its formatter scrubs connection details too).
        log.warning("the source of %s did not answer: %s", code, exc)
        said = f": {exc}" if exc.reason in OWN_MESSAGES else f" ({exc.reason})"
        raise SourceError(
            f"the source of {code} did not answer{said}",
            headers=headers,
            source_reason=exc.reason,
            transient=exc.transient,
        ) from None


async def _ask(
    hub: Hub, code: str, keys: Sequence[str], items: Sequence[str]
) -> tuple[Connector, LookupResult]:
    connector = await hub.connector_pool.get(code)
    return connector, await connector.lookup(list(keys), list(items))


async def _logged(
    trail: AuditTrail,
    view: ResourceView,
    ask: LookupRequest,
    decision: Decision,
    connector: Connector,
    result: LookupResult,
) -> Pulled:
    items = list(decision.allowed_items)
    masked = [i for i in items if should_mask(view.items[i].sensitivity, decision.masked[i])]
    kinds = {i: view.items[i].mask_kind for i in masked}
    provenance = {
        "provider": view.provider,
        "resource": view.code,
        "resource_version": view.version,
        "retrieved_at": utcnow().isoformat(timespec="milliseconds"),
        "update_cycle": view.update_cycle,
        "grant_ids": sorted(set(decision.grant_ids.values())),
    }
    key_item = connector.binding.key_item
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in result.records:
        by_key.setdefault(rules.key_text(record.get(key_item)), []).append(record)
    records: list[dict[str, Any]] = []
    returned: dict[str, tuple[Sequence[str], int]] = {}
    for key in ask.keys:
        rows = by_key.get(key, [])
        for row in rows:
            values = {i: rules.json_value(row.get(i)) for i in items}
            for i, kind in kinds.items():
                values[i] = mask_value(values[i], kind)
            records.append({"key": key, "values": values, "provenance": provenance})
        if rows:
            returned[key] = (items, len(rows))
    # The records go into the body as the very bytes hashed (canonical JSON).
    records_json = rules.canonical_json(records)
    digest = hashlib.sha256(records_json).hexdigest()
    partial = bool(decision.denied_items)
    reason = f"items outside the grant: {', '.join(decision.denied_items)}" if partial else None
    entries = trail.entries(
        decision="partial" if partial else "allowed",
        outcome=200,
        reason=reason,
        returned=returned,
        response_hash=digest,
    )
    appended = await trail.append(entries)  # committed, or AuditUnavailable: no data leaves
    return Pulled(
        view=view,
        decision=decision,
        items=items,
        masked=masked,
        records=records,
        records_json=records_json,
        records_sha256=digest,
        missing=[k for k in ask.keys if k not in returned],
        truncated=result.truncated,
        seqs=(appended[0].seq, appended[-1].seq),
    )


def _answer_body(trail: AuditTrail, ask: LookupRequest, pulled: Pulled) -> Answer:
    """Return the HTTP answer of a logged pull: its head, then ``records`` as hashed."""
    view, decision = pulled.view, pulled.decision
    head = {
        "request_id": trail.request_id,
        "decision": "partial" if decision.denied_items else "allowed",
        "resource": {
            "code": view.code,
            "name": view.name,
            "version": view.version,
            "status": view.status,
            "provider": view.provider,
            "provider_name": view.provider_name,
            "update_cycle": view.update_cycle,
        },
        "purpose": ask.purpose,
        "case_id": ask.case_id,
        "items": pulled.items,
        "denied_items": list(decision.denied_items),
        "masked_items": pulled.masked,
        "grants": dict(decision.grant_ids),
        "policy_version": decision.policy_version,
        "missing": pulled.missing,
        "truncated": pulled.truncated,
        "records_sha256": pulled.records_sha256,
    }
    payload = rules.compact_json(head)
    body = payload[:-1] + b',"records":' + pulled.records_json + b"}"
    return Answer(body, pulled.records_sha256, pulled.seqs)
