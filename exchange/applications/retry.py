"""Background retries of unavailable materials: a bounded schedule, attached when they arrive.

A material whose source failed (``unavailable``) carries ``next_attempt_at``. ``run_due``
takes the due ones of open applications, claims each with an optimistic update (the
attempt count it saw must still be there, so of two hub processes exactly one retries
it), pulls it again through the record-pull path — as the window system that submitted,
with the application's number as case — and writes the outcome: ``fetched`` (the evidence
attached, an event recorded, conflicts looked for again), still ``unavailable`` (the next
try per ``application_retry_schedule_seconds``; after the last one it becomes
``must_submit`` with the reason), or what the source now says. A claimed material's
``next_attempt_at`` is pushed a lease ahead, so a process that dies mid-retry only delays
it. ``poll`` runs ``run_due`` every ``application_retry_poll_seconds`` in the hub's lifespan;
``datarun applications retry`` runs it once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from exchange.applications import fanout
from exchange.applications import repository as repo
from exchange.applications.backoffice import record_event
from exchange.applications.service import Context, apply_outcome, context_for, flag_conflicts
from exchange.core.db import session_scope, utcnow
from exchange.identity.principal import Principal

log = logging.getLogger("datarun.applications.retry")

ACTOR = "hub:retry"
_LEASE_EXTRA_SECONDS = 60.0


@dataclass
class RetryRun:
    """What one run did: materials tried, and how each came out."""

    due: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        """Count one outcome."""
        self.outcomes[status] = self.outcomes.get(status, 0) + 1


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
    """Retry every due unavailable material once (of open applications); return the tally."""
    ctx = context_for(state)
    now = now or utcnow()
    limit = limit or ctx.settings.application_retry_batch
    lease = now + timedelta(
        seconds=ctx.settings.application_pull_timeout_seconds + _LEASE_EXTRA_SECONDS
    )
    due = await asyncio.to_thread(_due, ctx, now, limit)
    run = RetryRun(due=len(due))
    jobs = []
    for material_id, attempts in due:
        job = await asyncio.to_thread(_claim, ctx, material_id, attempts, lease)
        if job is not None:
            jobs.append(job)
    run.claimed = len(jobs)
    for status in await asyncio.gather(*(_retry(ctx, job, now) for job in jobs)):
        run.count(status)
    return run


def _due(ctx: Context, now: datetime, limit: int) -> list[tuple[int, int]]:
    with ctx.factory() as session:
        return repo.due_materials(session, now=now, limit=limit)


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


def _principal(job: _Job) -> Principal:
    """Return the submitting window system as the retry's caller (its grants apply)."""
    is_user = job.window_system.startswith("user:")
    return Principal(
        subject=job.window_system,
        kind="user" if is_user else "system",
        department=job.window_department,
        roles=frozenset() if is_user else frozenset({"system"}),
        token_id=ACTOR,
        client_id=None if is_user else job.window_system,
    )


async def _retry(ctx: Context, job: _Job, now: datetime) -> str:
    """Pull one claimed material again and write what came of it."""
    if job.pull is None:
        outcome = fanout.Outcome(job.material, fanout.MUST_SUBMIT, "no key to pull it by")
    else:
        try:
            outcome = await fanout.pull_one(
                ctx.hub,
                audit=ctx.audit,
                principal=_principal(job),
                request_id=f"retry-{uuid.uuid4().hex[:16]}",
                case_id=job.number,
                pull=job.pull,
                timeout=ctx.settings.application_pull_timeout_seconds,
            )
        except Exception:  # the log is down (or a bug): the lease brings it back later
            log.exception("retry of material %s of %s failed", job.material_id, job.number)
            return "error"
    return await asyncio.to_thread(_write, ctx, job, outcome, now)


def _write(ctx: Context, job: _Job, outcome: fanout.Outcome, now: datetime) -> str:
    schedule = ctx.settings.application_retry_schedule_seconds
    with session_scope(ctx.factory) as session:
        row = repo.material(session, job.material_id)
        application = repo.by_id(session, job.application_id)
        if row is None or application is None or row.status != fanout.UNAVAILABLE:
            return "superseded"  # e.g. a file was brought meanwhile: leave it be
        before = row.status
        apply_outcome(row, outcome, now=utcnow(), schedule=schedule, attempts=row.attempts)
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
        except Exception:
            log.exception("the retry of unavailable materials failed; trying again later")
