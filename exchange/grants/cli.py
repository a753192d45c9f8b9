"""``datarun grants sweep`` (expiries, lapses, escalations) and ``resync`` (policy repair)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.settings import get_settings
from exchange.grants.policy import full_resync
from exchange.grants.service import china_today
from exchange.grants.sweep import sweep
from exchange.sweeps.scheduler import GRANTS, lock

app = typer.Typer(
    no_args_is_help=True, help="Grants (共享权限): the lifecycle sweep, policy repair."
)


@app.command("sweep")
def sweep_command(
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="the day to sweep as of (default: today, China)"),
    ] = None,
) -> None:
    """Expire ended grants, lapse uncertified ones and escalate overdue requests."""
    day: date = today.date() if today else china_today()
    engine = make_engine(get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            lock(session, GRANTS, wait=True)  # after a hub's round, if one is running
            result = sweep(session, today=day)
    finally:
        engine.dispose()
    typer.echo(
        f"swept as of {day}: {len(result.expired)} expired, {len(result.lapsed)} lapsed, "
        f"{len(result.escalated)} escalated"
    )
    for label, ids in (
        ("expired", result.expired),
        ("lapsed", result.lapsed),
        ("escalated", result.escalated),
    ):
        if ids:
            typer.echo(f"  {label}: {', '.join(str(i) for i in ids)}")


@app.command("resync")
def resync_command() -> None:
    """Rebuild the stored casbin rules from the grants (after bulk SQL or a restore)."""
    engine = make_engine(get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            version = full_resync(session)
    finally:
        engine.dispose()
    typer.echo(f"policy rules rebuilt from the grants; policy version {version}")
