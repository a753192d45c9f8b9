"""``datarun supervision report``: the supervision figures (督察评估) as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer

from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.errors import InvalidInput
from exchange.core.settings import get_settings
from exchange.grants.service import china_today
from exchange.supervision import service
from exchange.supervision.schemas import Figures

app = typer.Typer(no_args_is_help=True, help="Supervision (督察评估): is 最多跑一次 realised?")

COLUMNS = (
    ("code", 16),
    ("accepted", 8),
    ("completed", 9),
    ("≤1 visit", 8),
    ("pulled", 7),
    ("p50 h", 7),
    ("p95 h", 7),
    ("late grants", 11),
    ("late objections", 15),
    ("uptime", 7),
)


class Format(StrEnum):
    """How the report is printed."""

    table = "table"
    json = "json"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}"


def _row(code: str, f: Figures) -> str:
    cells = (
        code,
        str(f.applications),
        str(f.completed),
        _percent(f.one_visit_rate),
        _percent(f.materials.pulled_share),
        _hours(f.handling.p50_seconds),
        _hours(f.handling.p95_seconds),
        str(f.overdue_grant_requests),
        str(f.overdue_objections),
        _percent(f.connectors.availability),
    )
    padded = (cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))
    return "  ".join(padded).rstrip()


def _table(title: str, rows: Sequence[tuple[str, Figures]]) -> list[str]:
    header = "  ".join(name.ljust(width) for name, width in COLUMNS).rstrip()
    return [title, header, *(_row(code, figures) for code, figures in rows), ""]


@app.command("report")
def report(
    since: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="first day (default: 30 days ago)"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="last day (default: today, China)"),
    ] = None,
    department: Annotated[str | None, typer.Option(help="one department's lines only")] = None,
    output: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
) -> None:
    """Print the report per one-thing and per department over a range of days."""
    first: date | None = since.date() if since else None
    last: date | None = until.date() if until else None
    today = china_today()
    engine = make_engine(get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            if department is not None:
                service.known_department(session, department)
            things = service.one_thing_report(
                session, since=first, until=last, today=today, department=department
            )
            departments = service.department_report(
                session, since=first, until=last, today=today, department=department
            )
    except InvalidInput as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if output is Format.json:
        body = {
            **things.model_dump(mode="json", by_alias=True, exclude={"items"}),
            "one_things": things.model_dump(mode="json", by_alias=True)["items"],
            "departments": departments.model_dump(mode="json", by_alias=True)["items"],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    lines = [f"supervision {things.since} .. {things.until} (overdue as of {things.as_of})", ""]
    lines += _table("per one-thing", [(t.code, t) for t in things.items])
    lines += _table("per department", [(d.code, d) for d in departments.items])
    typer.echo("\n".join(lines).rstrip())
