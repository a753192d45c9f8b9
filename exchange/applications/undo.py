"""Undoing a failed submission (撤销): release its key, delete what it half-wrote.

When anything fails after the key was claimed, the application (if one was made) is
deleted and the key released, in one transaction and only while the key is still ours
(``idempotency.give_up``): nothing half-written stays. When the database itself is what
failed, the undo is retried in the background for about a minute; past that, the key is
taken over once it is stale (``takeover``).
"""

from __future__ import annotations

import asyncio
import logging

from exchange.applications import idempotency
from exchange.applications import repository as repo
from exchange.applications.completion import Unfinished
from exchange.applications.context import Context
from exchange.core.db import session_scope

log = logging.getLogger("datarun.applications")

# When the database itself is what failed, undoing must wait for it: retried in the
# background for about a minute (then the key is taken over once it is stale).
UNDO_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_undoing: set[asyncio.Task[None]] = set()  # strong references to the background retries


async def undo_submission(ctx: Context, claim: idempotency.Claim, work: Unfinished | None) -> None:
    """Delete a half-made application and release its key (the submission failed)."""
    try:
        await asyncio.to_thread(_give_up, ctx, claim)
    except Exception as exc:
        log.warning(
            "could not yet undo the failed submission of key record %s (%s); retrying",
            claim.record_id,
            type(exc).__name__,
        )
        task = asyncio.create_task(_undo_later(ctx, claim, work))
        _undoing.add(task)
        task.add_done_callback(_undoing.discard)
        return
    if work is not None:
        ctx.owners.forget(work.number)


async def _undo_later(ctx: Context, claim: idempotency.Claim, work: Unfinished | None) -> None:
    """Retry undoing a failed submission until the database answers again (bounded)."""
    for delay in UNDO_RETRY_SECONDS:
        await asyncio.sleep(delay)
        try:
            await asyncio.to_thread(_give_up, ctx, claim)
        except Exception as exc:
            last = type(exc).__name__
            continue
        if work is not None:
            ctx.owners.forget(work.number)
        log.info("undid the failed submission of key record %s", claim.record_id)
        return
    log.error(
        "could not undo the failed submission of key record %s (%s): the key is released "
        "once it is older than idempotency_in_flight_seconds",
        claim.record_id,
        last,
    )


def _give_up(ctx: Context, claim: idempotency.Claim) -> None:
    """Release the key and delete its application, in one transaction, if still ours."""
    with session_scope(ctx.factory) as session:
        ours, application_id = idempotency.give_up(session, claim)
        if ours and application_id is not None:
            repo.delete_application(session, application_id)
