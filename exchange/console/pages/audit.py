"""Audit pages (auditors, province admins): search, entry, charts, verify, export, reports."""

from __future__ import annotations

import csv
import io
import logging
import queue
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from exchange.audit import service as audit
from exchange.audit.export import export_log
from exchange.audit.schemas import AuditEntryRead, ReportRequest
from exchange.audit.verify import verify_log
from exchange.console import charts, forms, repository
from exchange.console.auth import ConsoleAuthz, ConsoleUser, CsrfForm
from exchange.console.i18n import Translator
from exchange.console.render import CHINA, ConsoleRoute, language_of, refusal, render, stream
from exchange.core.deps import DbSession
from exchange.core.errors import DomainError, InvalidInput
from exchange.core.inputs import Seq
from exchange.core.pagination import PageParams
from exchange.grants.service import china_today

router = APIRouter(route_class=ConsoleRoute)
log = logging.getLogger("datarun.console.audit")
PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000
CHART_DAYS = 30
VERIFY_CHUNK = 10_000
DECISIONS = ("allowed", "partial", "denied", "source_error")
REPORTS = ("top-consumers", "no-case", "off-hours", "denial-spikes", "subject")
FILTERS = (
    "from",
    "to",
    "department",
    "system",
    "resource",
    "subject",
    "purpose",
    "case_id",
    "decision",
)
CSV_COLUMNS = (
    "seq",
    "at",
    "department",
    "system",
    "provider",
    "resource_code",
    "resource_version",
    "subject_key",
    "purpose",
    "case_id",
    "decision",
    "reason",
    "outcome",
    "items_requested",
    "items_returned",
    "record_count",
    "grant_ids",
    "latency_ms",
    "entry_hash",
)
Param = Annotated[str | None, Query(max_length=256)]


def parse_time(value: str) -> datetime:
    """Read a China-time ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=CHINA) if parsed.tzinfo is None else parsed


def filters_of(
    values: dict[str, str], t: Translator
) -> tuple[audit.EntryFilters, dict[str, list[str]]]:
    """Turn the search form into the log's filters, with an error per unreadable field."""
    errors: dict[str, list[str]] = {}
    times: dict[str, datetime | None] = {"from": None, "to": None}
    for name in times:
        if values.get(name):
            try:
                times[name] = parse_time(values[name])
            except ValueError:
                errors[name] = [t("form.date")]
    decision = values.get("decision") or None
    if decision and decision not in DECISIONS:
        errors["decision"] = [t("form.choose")]
        decision = None
    if times["from"] and times["to"] and times["from"] >= times["to"]:
        errors["to"] = [t("audit.to_after_from")]
    return audit.EntryFilters(
        since=times["from"],
        until=times["to"],
        department=values.get("department") or None,
        system=values.get("system") or None,
        resource=values.get("resource") or None,
        subject=values.get("subject") or None,
        purpose=values.get("purpose") or None,
        case_id=values.get("case_id") or None,
        decision=decision,
    ), errors


def _values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip()[:256] for name in FILTERS}


@router.get("/audit")
def overview(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz
) -> Response:
    """Show the log's charts (pulls per day, per department, denials) and the auditors' tools."""
    audit.require_auditor(viewer.principal, authz)
    today = china_today()
    since = datetime.combine(today - timedelta(days=CHART_DAYS - 1), datetime.min.time(), CHINA)
    days = charts.days_back(today, CHART_DAYS)
    by_day = charts.pivot(repository.counts_by_day(session, since=since), days)
    by_day = [(label[5:], values) for label, values in by_day]
    by_department = charts.pivot(repository.counts_by_department(session, since=since))[:15]
    denials = [(label, {"denied": v.get("denied", 0)}) for label, v in by_day]
    return render(
        request,
        "audit/overview.html",
        {
            "size": repository.log_size(session),
            "per_day": charts.stacked_columns(by_day, DECISIONS, label_every=5),
            "per_department": charts.stacked_rows(by_department, DECISIONS),
            "denials": charts.stacked_columns(denials, ["denied"], label_every=5),
            "days": CHART_DAYS,
            "reports": REPORTS,
            "may_verify": authz.allowed(viewer.principal, obj="audit", act="verify"),
        },
    )


@router.get("/audit/entries")
def search(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search the access log with filters, newest first."""
    audit.require_auditor(viewer.principal, authz)
    values = _values(request)
    filters, errors = filters_of(values, Translator(language_of(request)))
    found = None
    if not errors:
        found = audit.search(session, filters=filters, page=PageParams(page=page, size=PAGE_SIZE))
    return render(
        request,
        "audit/search.html",
        {
            "values": values,
            "errors": errors,
            "found": found,
            "page": page,
            "size": PAGE_SIZE,
            "decisions": DECISIONS,
            "searched": any(values.values()),
        },
        status=422 if errors else 200,
    )


def _csv_rows(request: Request, filters: audit.EntryFilters) -> Iterator[str]:
    yield "\ufeff"  # a BOM, so spreadsheet programs read the Chinese text as UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    factory = request.app.state.sessionmaker
    page, sent = 1, 0
    while sent < CSV_MAX_ROWS:
        with factory() as session:
            found = audit.search(session, filters=filters, page=PageParams(page=page, size=1000))
        for entry in found.items:
            writer.writerow(_csv_row(entry))
        sent += len(found.items)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(found.items) < 1000:
            return
        page += 1


def _csv_row(entry: AuditEntryRead) -> list[Any]:
    row = entry.model_dump()
    row["at"] = entry.at.astimezone(CHINA).isoformat(timespec="milliseconds")
    for name in ("items_requested", "items_returned", "grant_ids"):
        row[name] = " ".join(str(v) for v in row[name])
    return [row[c] if row[c] is not None else "" for c in CSV_COLUMNS]


@router.get("/audit/entries.csv")
def export_csv(request: Request, viewer: ConsoleUser, authz: ConsoleAuthz) -> Response:
    """Download the entries a search finds (oldest page last) as CSV."""
    audit.require_auditor(viewer.principal, authz)
    values = _values(request)
    filters, errors = filters_of(values, Translator(language_of(request)))
    if errors:
        raise InvalidInput(", ".join(sorted(errors)))
    who = "".join(ch for ch in (filters.subject or "search") if ch.isalnum())[:40] or "search"
    name = f"access-log-{who}-{china_today().isoformat()}.csv"
    return StreamingResponse(
        _csv_rows(request, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/audit/entries/{seq}")
def entry(
    request: Request, session: DbSession, viewer: ConsoleUser, authz: ConsoleAuthz, seq: Seq
) -> Response:
    """Show one access-log entry with every stored field."""
    audit.require_auditor(viewer.principal, authz)
    return render(request, "audit/entry.html", {"e": audit.get_entry(session, seq=seq)})


@router.get("/audit/subject")
def subject_history(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    key: Param = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show every access to one data subject's records, with who and why."""
    audit.require_auditor(viewer.principal, authz)
    key = (key or "").strip()
    found = summary = None
    if key:
        found = audit.search(
            session,
            filters=audit.EntryFilters(subject=key),
            page=PageParams(page=page, size=PAGE_SIZE),
        )
        summary = charts.stacked_rows(
            charts.pivot(repository.counts_for_subject(session, key)), DECISIONS
        )
    return render(
        request,
        "audit/subject.html",
        {
            "key": key,
            "found": found,
            "summary": summary,
            "page": page,
            "size": PAGE_SIZE,
        },
    )


def verify_events(request: Request, from_seq: int) -> Iterator[dict[str, Any]]:
    """Run the verification in a thread and yield its progress, then its result."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    engine = request.app.state.engine
    secret = request.app.state.settings.secret_key.get_secret_value()

    def work() -> None:
        try:
            result = verify_log(
                engine,
                secret=secret,
                from_seq=from_seq,
                chunk=VERIFY_CHUNK,
                progress=lambda done, total: events.put(
                    {"kind": "progress", "done": done, "total": total}
                ),
            )
            events.put({"kind": "result", "report": audit.to_report(result)})
        except Exception as exc:  # shown on the page; the log keeps the traceback
            log.exception("verification failed")
            events.put({"kind": "error", "detail": type(exc).__name__})

    threading.Thread(target=work, name="console-verify", daemon=True).start()
    yield {"kind": "started"}
    while True:
        event = events.get()
        yield event
        if event["kind"] != "progress":
            return


@router.post("/audit/verify")
def verify(request: Request, viewer: ConsoleUser, authz: ConsoleAuthz, form: CsrfForm) -> Response:
    """Recompute every hash and check every signed checkpoint, showing progress as it goes."""
    audit.require_auditor(viewer.principal, authz, act="verify")
    try:
        from_seq = max(1, int(forms.text(form, "from_seq") or 1))
    except ValueError:
        from_seq = 1
    return stream(
        request,
        "audit/verify.html",
        {
            "events": verify_events(request, from_seq),
            "from_seq": from_seq,
        },
    )


def _tool_page(request: Request, session: Session, **extra: Any) -> Response:
    return render(
        request, "audit/result.html", {"export": None, "report": None, "problem": None, **extra}
    )


@router.post("/audit/export")
def export(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
) -> Response:
    """Export the log to Parquet with a signed manifest (subject keys as HMACs)."""
    audit.require_auditor(viewer.principal, authz, act="export")
    settings = request.app.state.settings
    try:
        result = export_log(
            request.app.state.engine,
            secret=settings.secret_key.get_secret_value(),
            out_dir=audit.export_dir(settings),
        )
    except DomainError as exc:
        return _tool_page(request, session, problem=refusal(request, exc))
    return _tool_page(request, session, export=result)


@router.post("/audit/reports")
def report(
    request: Request,
    session: DbSession,
    viewer: ConsoleUser,
    authz: ConsoleAuthz,
    form: CsrfForm,
) -> Response:
    """Run a DuckDB report over the Parquet exports (their manifests are checked first)."""
    audit.require_auditor(viewer.principal, authz)
    name = forms.text(form, "name", 32)
    if name not in REPORTS:
        return _tool_page(request, session, problem=f"unknown report {name!r}")
    try:
        body = ReportRequest(name=name, subject=forms.optional(form, "subject"))
        result = audit.report(request.app.state.settings, request=body)
    except (DomainError, ValueError) as exc:
        return _tool_page(request, session, problem=refusal(request, exc))
    return _tool_page(request, session, report=result)
