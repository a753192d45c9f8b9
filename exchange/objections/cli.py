"""``datarun objections sweep``: escalate data objections past their due date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.settings import get_settings
from exchange.grants.service import china_today
from exchange.objections.sweep import sweep
from exchange.sweeps.scheduler import OBJECTIONS, lock

app = typer.Typer(no_args_is_help=True, help="Data objections (数据异议): the overdue sweep.")


@app.command("sweep")
def sweep_command(
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="the day to sweep as of (default: today, China)"),
    ] = None,
) -> None:
    """Flag open objections past their due date to the province admin (escalate)."""
    day: date = today.date() if today else china_today()
    engine = make_engine(get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            lock(session, OBJECTIONS, wait=True)  # after a hub's round, if one is running
            escalated = sweep(session, today=day)
    finally:
        engine.dispose()
    typer.echo(f"swept as of {day}: {len(escalated)} escalated")
    if escalated:
        typer.echo(f"  escalated: {', '.join(str(i) for i in escalated)}")
