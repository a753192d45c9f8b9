"""Catalogue import and export (目录导入导出) as JSON and as the spreadsheets administrators keep.

Import is all-or-nothing: every row is checked first and every error is reported with its
line and column (CSV) or JSON pointer; nothing is written while any error remains. Upsert
replaces an existing entry with what the file says (the file is the truth; a blank optional
cell clears the field). New entries start as drafts unless the file gives a 状态/status, in
which case they are moved along the lifecycle to it; for an existing entry a given status
is reached the same way, and a blank one leaves the status as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from catalogs.resources import service as resources
from catalogs.resources.models import Resource
from catalogs.resources.rules import snapshot
from catalogs.resources.schemas import ResourceUpdate
from catalogs.transfer import csvformat, jsonformat
from catalogs.transfer.rules import clean_message, field_loc
from catalogs.transfer.schemas import Action, FileFormat, ImportMode, ImportSummary
from catalogs.transfer.source import ErrorList, Location, TooManyRows
from catalogs.transfer.validate import Planned, validate
from exchange.core.errors import DomainError, InvalidInput, PayloadTooLarge
from exchange.core.inputs import NUL_MESSAGE, nul_locations
from exchange.core.pagination import PageParams
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal

PARSERS = {"csv": csvformat.parse, "json": jsonformat.parse}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
EXPORT_PAGE = 500

Progress = Callable[[str, Action, str], None]  # (code, action, name)


def import_catalog(
    session: Session,
    *,
    content: bytes,
    fmt: FileFormat,
    mode: ImportMode = "upsert",
    dry_run: bool = False,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    max_bytes: int,
    max_rows: int,
    progress: Progress | None = None,
) -> ImportSummary:
    """Check a whole catalogue file, then create and update its entries in the session.

    Raises InvalidInput listing every bad row, Forbidden listing the rows of departments the
    actor may not write, PayloadTooLarge above the size or row limit; nothing is flushed then.
    """
    if actor is not None and authz is not None:
        authz.require(actor, obj="catalog", act="write")
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"the file has {len(content)} bytes; at most {max_bytes} may be imported"
        )
    errors = ErrorList()
    try:
        entries = PARSERS[fmt](content, errors=errors, max_rows=max_rows)
    except TooManyRows as exc:
        raise PayloadTooLarge(f"{exc}; split the file") from exc
    nul = [(entry, loc) for entry in entries for loc in nul_locations(entry.data)]
    for entry, loc in nul:
        errors.at(entry.where(loc), NUL_MESSAGE)
    if nul:  # U+0000 would reach the database's lookups of validate: refused before them
        _raise_if_any(errors, fmt)
    plan = validate(session, entries, errors=errors, mode=mode, actor=actor, authz=authz)
    _raise_if_any(errors, fmt)
    summary = ImportSummary(
        dry_run=dry_run,
        created=sum(p.action == "created" for p in plan),
        updated=sum(p.action == "updated" for p in plan),
        unchanged=sum(p.action == "unchanged" for p in plan),
        resources=[p.data.code for p in plan],
        actions={p.data.code: p.action for p in plan},
    )
    for planned in plan:
        if not dry_run:
            _apply(session, planned, actor=actor, authz=authz)
        if progress is not None:
            progress(planned.data.code, planned.action, planned.data.name)
    return summary


def _apply(
    session: Session, planned: Planned, *, actor: Principal | None, authz: Authorizer | None
) -> None:
    """Write one planned entry; a service refusal (e.g. a concurrent change) names its row."""
    data, moves = planned.data, list(planned.moves)
    try:
        if planned.existing is None:
            first = "published" if moves[:1] == ["published"] else "draft"
            resources.create_resource(session, data=data, actor=actor, authz=authz, status=first)
            moves = moves[1:] if first == "published" else moves
        elif planned.changed:
            changes = ResourceUpdate(**data.model_dump(exclude={"code"}))
            resources.update_resource(
                session, code=data.code, data=changes, actor=actor, authz=authz
            )
        for status in moves:
            resources.change_status(
                session, code=data.code, status=status, actor=actor, authz=authz, reason="import"
            )
    except DomainError as exc:
        # The caller's transaction rolls back; say which row the refusal belongs to.
        problems = exc.errors or [{"field": "code", "message": exc.detail}]
        exc.errors = [
            {
                **planned.entry.where(field_loc(str(p.get("field", "code")))),
                "message": clean_message(str(p.get("message", exc.detail))),
            }
            for p in problems
        ]
        exc.detail = f"{data.code}: {exc.detail}; nothing was imported"
        raise


def _raise_if_any(errors: ErrorList, fmt: FileFormat) -> None:
    if errors:
        raise InvalidInput(errors.summary(), errors=sorted_errors(errors.items, fmt))


def sorted_errors(items: list[Location], fmt: FileFormat) -> list[Location]:
    """Order errors as a reader scans the file: by line and column, or by pointer."""
    if fmt == "csv":
        order = csvformat.COLUMN_ORDER
        return sorted(items, key=lambda e: (e.get("line") or 0, order.get(e["field"], len(order))))

    def natural(e: Location) -> tuple[Any, ...]:
        pointer = e.get("pointer") or ""
        return (
            e.get("line") or 0,
            *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pointer.split("/")),
        )

    return sorted(items, key=natural)


@dataclass(frozen=True)
class Export:
    """An exported catalogue: the file's bytes and what to call them."""

    content: bytes
    media_type: str
    filename: str
    count: int


def export_catalog(
    session: Session,
    *,
    fmt: FileFormat,
    principal: Principal | None = None,
    provider: str | None = None,
    status: str | None = None,
    share_type: str | None = None,
    update_cycle: str | None = None,
    q: str | None = None,
) -> Export:
    """Export the entries ``principal`` may see (drafts only to their administrators), by code."""
    found: list[Resource] = []
    page = 1
    while True:
        rows, total = resources.search_resources(
            session,
            principal=principal,
            page=PageParams(page=page, size=EXPORT_PAGE),
            q=q,
            provider=provider,
            share_type=share_type,
            update_cycle=update_cycle,
            status=status,
        )
        found += rows
        if not rows or page * EXPORT_PAGE >= total:
            break
        page += 1
    documents = [export_form(r, with_provider_name=fmt == "csv") for r in found]
    content = csvformat.render(documents) if fmt == "csv" else jsonformat.render(documents)
    stamp = datetime.now(resources.CHINA).strftime("%Y%m%d")
    return Export(content, MEDIA_TYPES[fmt], f"datarun-catalog-{stamp}.{fmt}", len(found))


def export_form(resource: Resource, *, with_provider_name: bool = False) -> dict[str, Any]:
    """Return an entry as an import file holds it: the Resource JSON form plus its status."""
    document = snapshot(resource)
    document["status"] = resource.status
    if with_provider_name:
        document["provider_name"] = resource.provider.name
    return document
