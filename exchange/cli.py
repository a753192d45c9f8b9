"""The ``datarun`` command line: each domain contributes its own sub-commands."""

from __future__ import annotations

import typer

from exchange.core.migrate import upgrade
from exchange.core.settings import get_settings

app = typer.Typer(help="DataRun hub: 让数据多跑路，群众少跑腿.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Migrate the hub database to the newest schema (alembic upgrade head)."""
    url = get_settings().effective_database_url
    typer.echo(f"migrating {url.split('@')[-1]} to head")
    upgrade(url)
    typer.echo("done")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, min=1, max=64, help="hub processes (uvicorn workers)"),
) -> None:
    """Run the hub with uvicorn (N worker processes on the configured database)."""
    from exchange.observability.serve import run

    settings = get_settings()
    typer.echo(
        f"serving the hub on http://{host}:{port} with {workers} worker(s), "
        f"database {settings.effective_database_url.split('@')[-1]}"
    )
    run(settings, host=host, port=port, workers=workers)


def _register_subcommands() -> None:
    from catalogs.cli import app as catalog_app
    from exchange.applications.cli import app as applications_app
    from exchange.audit.cli import app as audit_app
    from exchange.bindings.cli import app as bindings_app
    from exchange.demo.cli import app as demo_app
    from exchange.grants.cli import app as grants_app
    from exchange.identity.cli import app as identity_app
    from exchange.objections.cli import app as objections_app
    from exchange.supervision.cli import app as supervision_app

    app.add_typer(identity_app)
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(audit_app, name="audit")
    app.add_typer(demo_app, name="demo")
    app.add_typer(bindings_app, name="bindings")
    app.add_typer(grants_app, name="grants")
    app.add_typer(objections_app, name="objections")
    app.add_typer(supervision_app, name="supervision")
    app.add_typer(applications_app, name="applications")


_register_subcommands()


def main() -> None:
    """Entry point of the ``datarun`` console script."""
    app()
