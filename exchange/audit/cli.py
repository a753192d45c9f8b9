"""``datarun audit``: verify, search, export and report on the access log (访问日志)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.engine import Engine

from exchange.audit import checkpoints, export, reports, repository, service
from exchange.audit.log import AuditLog
from exchange.audit.rules import format_at
from exchange.audit.verify import verify_log
from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.errors import DomainError
from exchange.core.pagination import PageParams
from exchange.core.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="The access log: verify, search, export, report.")


@contextmanager
def _engine() -> Iterator[tuple[Settings, Engine]]:
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        yield settings, engine
    finally:
        engine.dispose()


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, indent=2)


@app.command("verify")
def verify_command(
    from_seq: Annotated[int, typer.Option(min=1, help="recompute entries from this one")] = 1,
    witness_dir: Annotated[
        Path | None,
        typer.Option(help="a witness's copy of the checkpoint directory", exists=True),
    ] = None,
    workers: Annotated[int, typer.Option(min=0, help="processes (0: one per core)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Recompute every hash and the chain, check every signed checkpoint and the head.

    Exits 1 naming the first bad sequence number. Limit: someone able to write the database
    can cut the log back to an earlier signed state and rewrite what follows; only a
    checkpoint beyond the cut that a witness holds (--witness-dir) shows it.
    """

    def progress(done: int, total: int) -> None:
        if not as_json:
            typer.echo(f"  verified {done:,} / {total:,} entries", err=True)

    with _engine() as (settings, engine):
        result = verify_log(
            engine,
            secret=settings.secret_key.get_secret_value(),
            from_seq=from_seq,
            witness_dir=witness_dir,
            workers=workers or os.cpu_count() or 1,
            progress=progress,
        )
    if as_json:
        typer.echo(service.to_report(result).model_dump_json(indent=2))
    else:
        typer.echo(
            f"{result.entries_checked:,} entries (to {result.size:,}), "
            f"{result.checkpoints_checked} checkpoints, {result.witness_checkpoints} witnessed, "
            f"in {result.seconds:.2f} s ({result.rate:,.0f} entries/s)"
        )
        for p in result.problems[:20]:
            typer.echo(f"  seq {p.seq if p.seq is not None else '-'}: {p.kind}: {p.detail}")
    if not result.ok:
        typer.echo(f"FAILED: first bad sequence number {result.first_bad_seq}", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo("OK: the access log verifies")


@app.command("search")
def search_command(
    since: Annotated[datetime | None, typer.Option("--from", help="at or after (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="before (UTC)")] = None,
    department: Annotated[str | None, typer.Option()] = None,
    system: Annotated[str | None, typer.Option()] = None,
    resource: Annotated[str | None, typer.Option(help="资源代码")] = None,
    subject: Annotated[str | None, typer.Option(help="the data subject's key")] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    case_id: Annotated[str | None, typer.Option("--case")] = None,
    decision: Annotated[str | None, typer.Option()] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the access log, newest first."""
    filters = service.EntryFilters(
        since=_utc(since),
        until=_utc(until),
        department=department,
        system=system,
        resource=resource,
        subject=subject,
        purpose=purpose,
        case_id=case_id,
        decision=decision,
    )
    with _engine() as (_, engine), make_sessionmaker(engine)() as session:
        try:
            result = service.search(session, filters=filters, page=PageParams(page=page, size=size))
        except DomainError as exc:
            _fail(exc.detail)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"{result.total:,} entries; page {page}")
    for e in result.items:
        typer.echo(
            f"{e.seq}\t{format_at(e.at)}\t{e.decision}\t{e.department}\t{e.system}\t"
            f"{e.resource_code}\t{e.subject_key}\t{e.purpose}\t{e.case_id or '-'}\t"
            f"{','.join(e.items_returned)}"
        )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)


@app.command("show")
def show_command(seq: int) -> None:
    """Print one entry as JSON."""
    with _engine() as (_, engine), make_sessionmaker(engine)() as session:
        try:
            entry = service.get_entry(session, seq=seq)
        except DomainError as exc:
            _fail(exc.detail)
    typer.echo(entry.model_dump_json(indent=2))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="directory for Parquet files and manifests")],
    from_seq: Annotated[
        int | None, typer.Option(min=1, help="default: after the last export")
    ] = None,
    to_seq: Annotated[int | None, typer.Option(min=1, help="default: the end of the log")] = None,
) -> None:
    """Export to Parquet (subject keys as HMACs) with a signed manifest."""
    with _engine() as (settings, engine):
        try:
            result = export.export_log(
                engine,
                secret=settings.secret_key.get_secret_value(),
                out_dir=out,
                from_seq=from_seq,
                to_seq=to_seq,
            )
        except DomainError as exc:
            _fail(exc.detail)
    typer.echo(f"exported entries {result.from_seq}..{result.to_seq} to {result.parquet}")
    typer.echo(f"manifest {result.manifest}")


@app.command("report")
def report_command(
    name: Annotated[str, typer.Argument(help=", ".join(reports.REPORTS))],
    directory: Annotated[Path, typer.Option("--dir", help="the exports' directory")],
    limit: Annotated[int, typer.Option(min=1)] = 20,
    threshold: Annotated[int | None, typer.Option(help="denial-spikes: denials per hour")] = None,
    z: Annotated[float, typer.Option(help="denial-spikes: z-score")] = 3.0,
    subject: Annotated[str | None, typer.Option(help="subject: the raw key")] = None,
    check: Annotated[bool, typer.Option(help="check the signed manifests first")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run a DuckDB report over the exports."""
    settings = get_settings()
    try:
        con = reports.connect(directory, check=check)
        result = reports.run(
            con,
            name,
            limit=limit,
            threshold=threshold,
            z=z,
            subject=subject,
            secret=settings.secret_key.get_secret_value(),
        )
    except DomainError as exc:
        _fail(exc.detail)
    if as_json:
        typer.echo(_json([dict(zip(result.columns, row, strict=True)) for row in result.rows]))
        return
    typer.echo("\t".join(result.columns))
    for row in result.rows:
        typer.echo("\t".join("" if v is None else str(v) for v in row))


@app.command("checkpoint")
def checkpoint_command(
    force: Annotated[bool, typer.Option(help="even if none is due")] = True,
) -> None:
    """Make a checkpoint now (if entries are uncovered) and write any missing checkpoint files."""
    settings = get_settings()
    log = AuditLog(settings.effective_database_url, settings)
    try:
        doc = log.checkpoint(force=force)
        directory = checkpoints.checkpoint_dir(settings)
        with log.engine.connect() as conn:
            docs = [checkpoints.document(r) for r in repository.checkpoint_rows(conn)]
            jwks = [dict(r.public_jwk) for r in repository.all_keys(conn)]
        checkpoints.publish(directory, docs, jwks)
    except DomainError as exc:
        _fail(exc.detail)
    finally:
        log.close()
    if doc:
        typer.echo(f"checkpoint at size {doc['statement']['size']}")
    typer.echo(f"{len(docs)} checkpoints in {directory}")
