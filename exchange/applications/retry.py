"""Background work on applications: retries of unavailable materials, abandoned submissions.

A material whose source failed (``unavailable``) carries ``next_attempt_at``. ``run_due``
takes the due ones of open applications and retries each once, through the record-pull
path — as the window system that submitted, with the application's number as case — and
writes the outcome: ``fetched`` (the evidence attached, an event recorded, conflicts looked
for again), still ``unavailable`` (the next try per ``application_retry_schedule_seconds``;
after the last one it becomes ``must_submit`` with the reason), or what the source now says.

Live traffic keeps priority: at most ``application_retry_per_source`` retries of one source
(its provider department, whose connectors share one concurrency limit) run at once in a
process, so after an outage the retries cannot fill the source's connector slots and turn
live pulls away as "overloaded". A retry is claimed only when it has a slot, with an
optimistic update (the attempt count it saw must still be there, so of two hub processes
exactly one retries it) that pushes ``next_attempt_at`` a lease ahead: the pull's deadline
plus a small margin, so a process that dies mid-retry delays the material by seconds.

Before the retries, ``run_due`` finishes submissions whose process died (``kill -9``) and
whose client has not come back for ``idempotency_in_flight_seconds``: it takes their key
over as a resubmission would and finishes the application that key names
(``takeover.finish_abandoned``), so no application is left half-made; a stale key that names
no application is forgotten. ``poll`` runs ``run_due`` every
``application_retry_poll_seconds`` in the hub's lifespan; ``datarun applications retry``
runs it once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from exchange.applications import fanout, idempotency
from exchange.applications import repository as repo
from exchange.applications.context import Context, context_for
from exchange.applications.materials import apply_outcome, flag_conflicts
from exchange.applications.parts import record_event
from exchange.applications.takeover import finish_abandoned, window_principal
from exchange.core.db import session_scope, utcnow
from exchange.observability.dberrors import describe_db_error, is_connection_error

log = logging.getLogger("datarun.applications.retry")

ACTOR = "hub:retry"
# Past the pull's own deadline, the time a retry needs to log its entry and write its row.
LEASE_MARGIN_SECONDS = 3.0


@dataclass
class RetryRun:
    """What one run did: materials tried, and how each came out."""

    due: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    adopted: int = 0  # abandoned submissions finished
    forgotten: int = 0  # abandoned keys that named no application

    def count(self, status: str) -> None:
        """Count one outcome."""
        self.outcomes[status] = self.outcomes.get(status, 0) + 1


class RetrySlots:
    """Per source, how many background retries may run at once in this process."""

    def __init__(self, per_source: int) -> None:
        self.per_source = per_source
        self.loop = asyncio.get_running_loop()  # semaphores belong to one event loop
        self._held: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def hold(self, source: str) -> AsyncIterator[None]:
        """Wait for one of the source's slots and hold it for the block."""
        semaphore = self._held.get(source)
        if semaphore is None:
            semaphore = self._held[source] = asyncio.Semaphore(self.per_source)
        async with semaphore:
            yield


def slots_for(state: Any, per_source: int) -> RetrySlots:
    """Return the process's retry slots (``app.state.retry_slots``), made on first use."""
    slots = getattr(state, "retry_slots", None)
    if (
        not isinstance(slots, RetrySlots)
        or slots.per_source != per_source
        or slots.loop is not asyncio.get_running_loop()
    ):
        slots = state.retry_slots = RetrySlots(per_source)
    return slots


def lease_seconds(pull_timeout: float) -> float:
    """Return how long a claimed retry is held: the pull's deadline plus a margin."""
    return pull_timeout + LEASE_MARGIN_SECONDS


@dataclass(frozen=True)
class _Job:
    material_id: int
    material: str
    application_id: int
    number: str
    window_department: str
    window_system: str
    pull: fanout.Pull | None


async def run_due(state: Any, *, now: datetime | None = None, limit: int | None = None) -> RetryRun:
    """Finish abandoned submissions, then retry every due unavailable material once."""
    ctx = context_for(state)
    now = now or utcnow()
    began = utcnow()

    def clock() -> datetime:  # ``now`` (a test may move it) advanced by the time spent
        return now + (utcnow() - began)

    limit = limit or ctx.settings.application_retry_batch
    run = RetryRun()
    await _adopt(ctx, run, now=now, limit=limit)
    due = await asyncio.to_thread(_due, ctx, now, limit)
    run.due = len(due)
    slots = slots_for(state, ctx.settings.application_retry_per_source)
    done = await asyncio.gather(
        *(_take_and_retry(ctx, slots, m, attempts, code, clock) for m, attempts, code in due)
    )
    for status in done:
        if status is not None:
            run.claimed += 1
            run.count(status)
    return run


def _due(ctx: Context, now: datetime, limit: int) -> list[tuple[int, int, str | None]]:
    with ctx.factory() as session:
        return repo.due_materials(session, now=now, limit=limit)


async def _source(ctx: Context, resource_code: str | None) -> str:
    """Return what a retry's slot is counted against: the provider, else the resource."""
    if not resource_code:
        return ""
    try:
        view = await ctx.hub.catalogue.resource(resource_code)
    except Exception:  # the catalogue cannot be read now: count it against the resource
        view = None
    return f"provider:{view.provider}" if view is not None else f"resource:{resource_code}"


async def _take_and_retry(
    ctx: Context,
    slots: RetrySlots,
    material_id: int,
    attempts: int,
    resource_code: str | None,
    clock: Callable[[], datetime],
) -> str | None:
    """Wait for a slot of the material's source, claim it, retry it (None: not claimed)."""
    async with slots.hold(await _source(ctx, resource_code)):
        timeout = ctx.settings.application_pull_timeout_seconds
        lease = clock() + timedelta(seconds=lease_seconds(timeout))
        job = await asyncio.to_thread(_claim, ctx, material_id, attempts, lease)
        if job is None:
            return None
        return await _retry(ctx, job, clock)


def _claim(ctx: Context, material_id: int, attempts: int, lease: datetime) -> _Job | None:
    """Claim one retry (or None: another process took it) and say what to pull."""
    with session_scope(ctx.factory) as session:
        if not repo.claim_material(session, material_id, seen_attempts=attempts, lease_until=lease):
            return None
        row = repo.material(session, material_id)
        application = repo.by_id(session, row.application_id) if row else None
        if row is None or application is None:
            return None
        purpose = row.service_item or application.one_thing_code
        pull = None
        if row.resource_code and row.items and row.subject_key:
            pull = fanout.Pull(
                row.material_code,
                row.position,
                row.resource_code,
                tuple(str(i) for i in row.items),
                row.subject_key,
                purpose,
            )
        return _Job(
            material_id,
            row.material_code,
            application.id,
            application.number,
            application.window_department,
            application.window_system,
            pull,
        )


async def _retry(ctx: Context, job: _Job, clock: Callable[[], datetime]) -> str:
    """Pull one claimed material again and write what came of it."""
    if job.pull is None:
        outcome = fanout.Outcome(job.material, fanout.MUST_SUBMIT, "no key to pull it by")
    else:
        try:
            outcome = await fanout.pull_one(
                ctx.hub,
                audit=ctx.audit,
                principal=window_principal(
                    job.window_system, job.window_department, token_id=ACTOR
                ),
                request_id=f"retry-{uuid.uuid4().hex[:16]}",
                case_id=job.number,
                pull=job.pull,
                timeout=ctx.settings.application_pull_timeout_seconds,
            )
        except Exception as exc:  # the log is down (or a bug): the lease brings it back later
            log.error(
                "retry of material %s of %s failed: %s",
                job.material_id,
                job.number,
                describe_db_error(exc),
                exc_info=not is_connection_error(exc),  # a traceback for a bug only
            )
            return "error"
    return await asyncio.to_thread(_write, ctx, job, outcome, clock())


def _write(ctx: Context, job: _Job, outcome: fanout.Outcome, now: datetime) -> str:
    schedule = ctx.settings.application_retry_schedule_seconds
    with session_scope(ctx.factory) as session:
        row = repo.material(session, job.material_id)
        application = repo.by_id(session, job.application_id)
        if row is None or application is None or row.status != fanout.UNAVAILABLE:
            return "superseded"  # e.g. a file was brought meanwhile: leave it be
        before = row.status
        apply_outcome(row, outcome, now=now, schedule=schedule, attempts=row.attempts)
        if row.status == fanout.UNAVAILABLE:
            return row.status  # the next try is scheduled; no event per failed try
        action = "material_attached" if row.status == fanout.FETCHED else "material_settled"
        record_event(
            session,
            application,
            actor=ACTOR,
            action=action,
            reason=row.reason,
            material=row.material_code,
            from_material_status=before,
            to_material_status=row.status,
            attempts=row.attempts,
            audit_seq=row.audit_seq,
        )
        session.flush()
        if row.status == fanout.FETCHED:
            flag_conflicts(session, application, settings=ctx.settings)
        return row.status


# ---- submissions whose process died -----------------------------------------------------


async def _adopt(ctx: Context, run: RetryRun, *, now: datetime, limit: int) -> None:
    """Finish the applications of abandoned keys; forget abandoned keys that name none."""
    stale = ctx.settings.idempotency_in_flight_seconds
    found = await asyncio.to_thread(
        idempotency.abandoned, ctx.factory, stale_after_seconds=stale, now=now, limit=limit
    )
    for item in found:
        claim = await asyncio.to_thread(
            idempotency.take_over, ctx.factory, item, stale_after_seconds=stale, now=now
        )
        if claim is None:
            continue  # its client (or another process) took it over first
        try:
            if claim.application_id is None:
                await asyncio.to_thread(_forget, ctx, claim)
                run.forgotten += 1
                continue
            # "retry-…" like every request id of the background work (the access log says so).
            request_id = f"retry-adopt-{uuid.uuid4().hex[:16]}"
            number = await finish_abandoned(ctx, claim, request_id=request_id)
            run.adopted += 1
            log.warning("finished application %s, abandoned by a process that died", number)
        except idempotency.Superseded:
            continue
        except Exception as exc:  # e.g. the log is down: the key goes stale again and is retaken
            log.error(
                "could not finish the abandoned submission of key %s: %s",
                item.record_id,
                describe_db_error(exc),
                exc_info=not is_connection_error(exc),
            )


def _forget(ctx: Context, claim: idempotency.Claim) -> None:
    with session_scope(ctx.factory) as session:
        idempotency.give_up(session, claim)


async def poll(app: Any) -> None:
    """Run ``run_due`` every ``application_retry_poll_seconds`` until cancelled."""
    every = app.state.settings.application_retry_poll_seconds
    while True:
        await asyncio.sleep(every)
        try:
            run = await run_due(app.state)
            if run.claimed:
                log.info("retried %s material(s): %s", run.claimed, run.outcomes)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error(
                "the retry of unavailable materials failed (%s); trying again later",
                describe_db_error(exc),
                exc_info=not is_connection_error(exc),
            )
