"""The hub runs the lifecycle sweeps itself: no cron needed.

Each hub process runs the grants sweep (expiries, lapses, requests past their 10 working
days) and the objections sweep (answers past their deadline, flagged to the province
admin) every ``sweep_interval_seconds``, the first round one interval after start
(0: never in this process; ``datarun grants sweep`` / ``datarun objections sweep`` remain
for a hub run with sweeps off). Each sweep is the same function the CLI calls, in a
transaction of its own.

Processes sharing one PostgreSQL (``datarun serve --workers N``, several hosts) take
turns: a sweep's transaction first asks ``pg_try_advisory_xact_lock`` for that sweep's
fixed key and, when another process holds it, skips the round (that process is doing the
work); the lock ends with the transaction. The CLI waits for the lock instead. SQLite
takes no lock: its hub is one process. Either way a sweep is idempotent: what it records
(the status, ``escalated_at``) takes a row out of the next sweep's queries, so a second
run flags nothing twice.

A round that fails (database down, a bug) is logged by the error's type and code and
counted (``datarun_sweep_runs_total{outcome="failed"}``); the next round is tried at its
time. A round that changed something logs one line of counts, never a name or a key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exchange.core.db import session_scope
from exchange.grants import sweep as grants_sweep
from exchange.grants.service import china_today
from exchange.objections import sweep as objections_sweep
from exchange.observability.dberrors import describe_db_error, is_connection_error
from exchange.observability.metrics import SWEEP_CHANGES, SWEEP_RUNS

log = logging.getLogger("datarun.sweeps")

# pg_advisory_xact_lock keys, one per sweep: "DRSWEEP" in ASCII, then the sweep's number.
_LOCK_BASE = 0x4452535745455000


def _grants(session: Session, today: date) -> dict[str, int]:
    result = grants_sweep.sweep(session, today=today)
    return {
        "expired": len(result.expired),
        "lapsed": len(result.lapsed),
        "escalated": len(result.escalated),
    }


def _objections(session: Session, today: date) -> dict[str, int]:
    return {"escalated": len(objections_sweep.sweep(session, today=today))}


@dataclass(frozen=True)
class Sweep:
    """One lifecycle sweep: its name, its lock key, and what it does (counts by action)."""

    name: str
    lock_key: int
    run: Callable[[Session, date], dict[str, int]]


GRANTS = Sweep("grants", _LOCK_BASE + 1, _grants)
OBJECTIONS = Sweep("objections", _LOCK_BASE + 2, _objections)
SWEEPS = (GRANTS, OBJECTIONS)


def lock(session: Session, sweep: Sweep, *, wait: bool = False) -> bool:
    """Take ``sweep``'s lock for the session's transaction; False: another process has it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one hub process, and its writers are serialised anyway
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(sweep.lock_key)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(sweep.lock_key))))


def run_once(
    factory: sessionmaker[Session], sweep: Sweep, *, today: date | None = None
) -> dict[str, int] | None:
    """Run ``sweep`` once in its own transaction; None: another process is running it."""
    with session_scope(factory) as session:
        if not lock(session, sweep):
            return None
        return sweep.run(session, today or china_today())


async def run_round(factory: sessionmaker[Session]) -> dict[str, dict[str, int] | None]:
    """Run every sweep once (a failed one does not stop the others); return their counts."""
    done: dict[str, dict[str, int] | None] = {}
    for sweep in SWEEPS:
        try:
            counts = await asyncio.to_thread(run_once, factory, sweep)
        except Exception as exc:
            SWEEP_RUNS.labels(sweep.name, "failed").inc()
            log.error(
                "the %s sweep failed (%s); trying again in the next round",
                sweep.name,
                describe_db_error(exc),
                exc_info=not is_connection_error(exc),  # a traceback for a bug only
            )
            continue
        done[sweep.name] = counts
        if counts is None:
            SWEEP_RUNS.labels(sweep.name, "skipped").inc()
            continue
        SWEEP_RUNS.labels(sweep.name, "changed" if any(counts.values()) else "idle").inc()
        for action, n in counts.items():
            if n:
                SWEEP_CHANGES.labels(sweep.name, action).inc(n)
    changed = [
        f"{name}: " + ", ".join(f"{n} {action}" for action, n in counts.items())
        for name, counts in done.items()
        if counts and any(counts.values())
    ]
    if changed:
        log.info("swept %s", "; ".join(changed))
    return done


async def poll(app: Any) -> None:
    """Run ``run_round`` every ``sweep_interval_seconds`` until cancelled."""
    every = app.state.settings.sweep_interval_seconds
    while True:
        await asyncio.sleep(every)
        try:
            await run_round(app.state.sessionmaker)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # run_round logs each sweep's own; this is a bug's net
            log.error("a sweep round failed (%s)", describe_db_error(exc), exc_info=True)
