"""``datarun applications``: operator commands for applications (办件)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from exchange.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Applications (办件): background work.")


@app.command()
def retry(
    limit: Annotated[
        int | None, typer.Option(min=1, help="at most this many materials (default: the setting)")
    ] = None,
) -> None:
    """Retry the unavailable materials that are due, once (what the hub's poller does)."""
    from exchange.app import create_app
    from exchange.applications.retry import run_due

    hub = create_app(get_settings())

    async def once() -> None:
        try:
            run = await run_due(hub.state, limit=limit)
        finally:
            await hub.state.connector_pool.close()
        outcomes = ", ".join(f"{status} {n}" for status, n in sorted(run.outcomes.items()))
        typer.echo(f"{run.due} due, {run.claimed} retried" + (f": {outcomes}" if outcomes else ""))

    try:
        asyncio.run(once())
    finally:
        hub.state.audit.close()
        hub.state.engine.dispose()
