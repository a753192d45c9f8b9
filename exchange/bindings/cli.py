"""``datarun bindings set|list|show|check|describe|delete``: connector bindings, as an operator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from exchange.bindings import repository, service
from exchange.bindings.schemas import BindingFile, BindingWrite
from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.errors import DomainError
from exchange.core.pagination import PageParams
from exchange.core.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="Connector bindings: resource → department source.")
_FILE = TypeAdapter(BindingFile | list[BindingFile])


@contextmanager
def _session() -> Iterator[tuple[Settings, Session]]:
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield settings, session
    except DomainError as exc:
        _fail(exc.detail, exc.errors)
    finally:
        engine.dispose()


def _fail(message: str, errors: list[dict[str, Any]] | None = None) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for e in errors or []:
        typer.echo(f"  {e.get('field')}: {e.get('message')}", err=True)
    raise typer.Exit(1)


@app.command("set")
def set_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="a JSON binding or list")
    ],
    verify: Annotated[
        bool, typer.Option(help="check the live source has every mapped column")
    ] = True,
) -> None:
    """Create or replace bindings from a JSON file (one object or a list), all or nothing."""
    try:
        parsed = _FILE.validate_json(file.read_bytes())
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        _fail(f"{file.name} is not a binding file", errors)
    entries = parsed if isinstance(parsed, list) else [parsed]
    with _session() as (settings, session):
        for entry in entries:
            data = BindingWrite(**entry.model_dump(exclude={"resource"}))
            row, created = service.put_binding(
                session, code=entry.resource, data=data, settings=settings, verify=verify
            )
            typer.echo(f"{'created ' if created else 'replaced'} {entry.resource}  {row.adapter}")


@app.command("list")
def list_command(
    provider: Annotated[str | None, typer.Option(help="only this department's")] = None,
) -> None:
    """List bindings with their last health check."""
    with _session() as (_, session):
        rows, _total = service.list_bindings(
            session, page=PageParams(page=1, size=100_000), provider=provider
        )
        for read in service.to_reads(session, rows):
            check = read.last_check
            health = "never checked" if check is None else ("ok" if check.ok else "FAILING")
            state = "enabled" if read.enabled else "disabled"
            typer.echo(
                f"{read.resource_code}\t{read.adapter}\t{state}\t{health}\t{read.resource_name}"
            )


@app.command("show")
def show_command(code: Annotated[str, typer.Argument(help="资源代码")]) -> None:
    """Show one binding as JSON (secrets masked: feed it back to `set` to keep them)."""
    with _session() as (_, session):
        row = service.get_binding(session, code=code)
        read = service.to_read(row, repository.last_checks(session, [row.id]).get(row.id))
        typer.echo(json.dumps(read.model_dump(mode="json"), ensure_ascii=False, indent=2))


@app.command("check")
def check_command(code: Annotated[str, typer.Argument(help="资源代码")]) -> None:
    """Ask the source whether it answers; keep the result; exit 1 if it does not."""
    with _session() as (settings, session):
        check = service.check_binding(session, code=code, settings=settings)
        verdict = "ok" if check.ok else "FAILING"
        typer.echo(f"{code}\t{verdict}\t{check.latency_ms:.1f} ms\t{check.detail or ''}")
    if not check.ok:
        raise typer.Exit(1)


@app.command("describe")
def describe_command(code: Annotated[str, typer.Argument(help="资源代码")]) -> None:
    """List the columns the bound source offers."""
    with _session() as (settings, session):
        for column in service.describe_binding(session, code=code, settings=settings):
            nullable = "null" if column.nullable else "not null"
            typer.echo(f"{column.name}\t{column.type}\t{nullable}")


@app.command("delete")
def delete_command(code: Annotated[str, typer.Argument(help="资源代码")]) -> None:
    """Remove a resource's binding."""
    with _session() as (_, session):
        service.delete_binding(session, code=code)
        typer.echo(f"deleted the binding of {code}")
