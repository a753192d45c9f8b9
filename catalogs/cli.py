"""``datarun catalog import|export``: the catalogue as JSON or CSV, for a trusted operator."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from catalogs.resources.schemas import ShareType, Status
from catalogs.transfer import service
from catalogs.transfer.schemas import Action, FileFormat, ImportMode
from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.errors import DomainError
from exchange.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Catalogue: import, export.")


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def _print_errors(exc: DomainError) -> None:
    typer.echo(f"error: {exc.detail}", err=True)
    errors: list[dict[str, Any]] = exc.errors or []
    if not errors:
        return
    by_pointer = any("pointer" in e for e in errors)
    head = ["pointer" if by_pointer else "line", "field", "message"]
    rows = [head]
    for e in errors:
        where = e.get("pointer") if by_pointer and "pointer" in e else e.get("line")
        rows.append([str(where if where is not None else ""), str(e["field"]), str(e["message"])])
    for line in _table(rows):
        typer.echo(line, err=True)


def _format_of(path: Path) -> FileFormat | None:
    suffix = path.suffix.lower().lstrip(".")
    return cast(FileFormat, suffix) if suffix in ("csv", "json") else None


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="a .csv sheet or a .json file")
    ],
    mode: Annotated[ImportMode, typer.Option(help="create-only: existing codes fail")] = "upsert",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and report only")] = False,
) -> None:
    """Import catalogue entries from a file, all or nothing; on errors list every bad row."""
    fmt = _format_of(file)
    if fmt is None:
        typer.echo(f"error: {file.name}: the file name must end in .csv or .json", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)

    def progress(code: str, action: Action, name: str) -> None:
        typer.echo(f"{'would be ' if dry_run else ''}{action:<9} {code}  {name}")

    try:
        with session_scope(make_sessionmaker(engine)) as session:
            summary = service.import_catalog(
                session,
                content=file.read_bytes(),
                fmt=fmt,
                mode=mode,
                dry_run=dry_run,
                max_bytes=settings.import_max_bytes,
                max_rows=settings.import_max_rows,
                progress=progress,
            )
    except DomainError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    done = "dry run, nothing written:" if dry_run else "imported:"
    typer.echo(
        f"{done} {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )


@app.command("export")
def export_command(
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="default: by --out's extension, else json")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="file to write, else stdout")] = None,
    provider: Annotated[str | None, typer.Option(help="only this department's entries")] = None,
    status: Annotated[Status | None, typer.Option(help="only entries in this state")] = None,
    share_type: Annotated[ShareType | None, typer.Option(help="only this sharing type")] = None,
) -> None:
    """Export the whole catalogue (drafts included) as JSON or as a CSV sheet."""
    by_name = _format_of(out) if out else None
    chosen: FileFormat = fmt or by_name or "json"
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            export = service.export_catalog(
                session, fmt=chosen, provider=provider, status=status, share_type=share_type
            )
    except DomainError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(export.content)
        sys.stdout.buffer.flush()
        return
    out.write_bytes(export.content)
    typer.echo(f"exported {export.count} resources to {out}", err=True)
