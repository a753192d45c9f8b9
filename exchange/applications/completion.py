"""Completing an application (汇聚材料): pull what is left, write it, answer the key.

The second half of a submission, shared by a first submission and by a takeover (the
application of a dead process, ``takeover``): the pulls of the materials not yet recorded
run (``fanout``), then the pulled materials, the conflicts, the first event and the case
file stored on the key are written in one transaction, fenced by the key's claim
(``idempotency.guard``), so a process that lost its key writes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exchange.applications import casefile, fanout, idempotency, rules
from exchange.applications import repository as repo
from exchange.applications.context import Context, actor
from exchange.applications.fanout import MaterialSpec, Outcome
from exchange.applications.materials import apply_outcome, flag_conflicts, material_row
from exchange.applications.parts import record_event
from exchange.core.db import session_scope, utcnow
from exchange.identity.principal import Principal
from exchange.records.audited import AuditTrail

RESERVE_SHARE, RESERVE_MAX = 0.25, 0.5  # of the budget kept for writing the case file


@dataclass(frozen=True)
class Unfinished:
    """An accepted application whose pullable materials are not recorded yet."""

    application_id: int
    number: str
    one_thing_name: str
    window_department: str
    window_system: str
    identifiers: Mapping[str, str]
    material_keys: Mapping[str, str]
    consent: bool
    budget_seconds: float
    to_pull: tuple[MaterialSpec, ...]  # pullable materials with no row yet
    resumed: bool  # taken over from a process that died


async def complete(
    ctx: Context,
    claim: idempotency.Claim,
    work: Unfinished,
    *,
    principal: Principal,
    request_id: str | None,
    trail: AuditTrail | None,
    cutoff: float,
) -> bytes:
    """Pull what is left, write it, store the answer on the key; return the case file."""
    assembled = time.monotonic()
    outcomes = await _assemble(ctx, principal, request_id, work, cutoff)
    took = int((time.monotonic() - assembled) * 1000)
    if trail is not None:
        for outcome in outcomes.values():
            if outcome.appended:
                trail.recorded = True
                trail.appended.extend(outcome.appended)
        if not trail.recorded:  # nothing pulled: the submission itself is the entry
            trail.note(keys=[])
            reason = "application accepted; no record pulled"
            await trail.append(trail.entries(decision="allowed", outcome=201, reason=reason))
    return await asyncio.to_thread(_finish, ctx, claim, work, outcomes, actor(principal), took)


async def _assemble(
    ctx: Context,
    principal: Principal,
    request_id: str | None,
    work: Unfinished,
    cutoff: float,
) -> dict[str, Outcome]:
    """Plan and run the pulls; return the outcome of every material still to pull."""
    pulls, settled = await fanout.plan(
        ctx.hub,
        work.to_pull,
        consent=work.consent,
        identifiers=work.identifiers,
        material_keys=work.material_keys,
    )
    pulled = await fanout.pull_all(
        ctx.hub,
        audit=ctx.audit,
        principal=principal,
        request_id=request_id,
        case_id=work.number,
        pulls=pulls,
        per_source=ctx.settings.application_pull_timeout_seconds,
        cutoff=cutoff,
    )
    for outcome in pulled:
        settled[outcome.material] = outcome
    return settled


def _finish(
    ctx: Context,
    claim: idempotency.Claim,
    work: Unfinished,
    outcomes: Mapping[str, Outcome],
    by: str,
    took_ms: int,
) -> bytes:
    """Store the pulled materials, conflicts, the first event and the answer on the key."""
    now = utcnow()
    schedule = ctx.settings.application_retry_schedule_seconds
    with session_scope(ctx.factory) as session:
        idempotency.guard(session, claim)  # first: the key's row stays ours until commit
        application = repo.by_id(session, work.application_id)
        if application is None:
            raise idempotency.Superseded(f"application {work.number} is gone; retry")
        have = {m.material_code for m in application.materials}
        for spec in work.to_pull:
            if spec.code not in have:
                row = material_row(spec, work.identifiers, work.material_keys)
                apply_outcome(row, outcomes[spec.code], now=now, schedule=schedule, attempts=None)
                application.materials.append(row)
        application.assembly_ms = took_ms
        session.flush()
        session.expire(application, ["materials"])  # read back in position order
        counts: dict[str, int] = {}
        for m in application.materials:
            counts[m.status] = counts.get(m.status, 0) + 1
        detail: dict[str, Any] = {"resumed": True} if work.resumed else {}
        record_event(
            session,
            application,
            actor=by,
            action="submitted",
            to_status=rules.ACCEPTED,
            materials=counts,
            **detail,
        )
        flag_conflicts(session, application, settings=ctx.settings)
        session.flush()
        case = casefile.build(
            application,
            one_thing_name=work.one_thing_name,
            events=repo.events_of(session, application.id),
            conflicts=repo.conflicts_of(session, application.id),
        )
        body = casefile.to_bytes(case)
        idempotency.complete_in(
            session, claim, status=201, body=body.decode("utf-8"), application_id=application.id
        )
        return body
