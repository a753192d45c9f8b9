"""Reading a case file and the window's preview actions: decline, bring a file, confirm.

Every route here answers with personal data (the case file) or about it, so each appends
its access-log entries before answering: one per data subject whose records the case file
shows, with the one-thing as purpose and the number as case. A read is logged with the
SHA-256 of the bytes sent. A change is checked in a transaction that is rolled back, then
logged, then made in a second transaction (re-checked): the log is never written while the
hub's own database holds a write lock, and a change whose entry cannot be written is not
made (503).

Who: the window department (the caller's department accepted the application) reads and
acts; a department holding a part (并联办理) reads. Everyone else is refused (403, logged).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from exchange.applications import casefile, rules
from exchange.applications import repository as repo
from exchange.applications.context import Context, actor, invalid, require_member
from exchange.applications.files import decode_files, file_problems, raise_for
from exchange.applications.materials import file_row
from exchange.applications.models import Application, ApplicationMaterial
from exchange.applications.parts import open_parts, record_event
from exchange.applications.schemas import ApplicationSummary, Decline, FileAdd
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, Forbidden, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.identity.principal import Principal
from exchange.records.audited import AuditTrail

NUMBER_MAX = 40

Change = Callable[[Session, Application, bool], str]  # (session, application, dry) → reason


@dataclass(frozen=True)
class Seen:
    """What the access-log entries of a case-file answer name."""

    one_thing: str
    subjects: list[str]
    reason: str


def _load(session: Session, number: str) -> Application:
    application = repo.by_number(session, number) if len(number) <= NUMBER_MAX else None
    if application is None:
        raise NotFound(f"no application {number}")
    return application


def _body(session: Session, application: Application) -> bytes:
    case = casefile.build(
        application,
        one_thing_name=repo.one_thing_name(session, application.one_thing_id),
        events=repo.events_of(session, application.id),
        conflicts=repo.conflicts_of(session, application.id),
    )
    return casefile.to_bytes(case)


# ---- reading ----------------------------------------------------------------------------


async def read(ctx: Context, trail: AuditTrail, number: str) -> bytes:
    """Return the case file (audited: one entry per data subject it shows)."""
    trail.note(case_id=number[:128])
    body, seen = await asyncio.to_thread(_read, ctx, trail, number)
    trail.note(purpose=seen.one_thing, keys=seen.subjects)
    entries = trail.entries(
        decision="allowed",
        outcome=200,
        reason=seen.reason,
        response_hash=casefile.body_sha256(body),
    )
    await trail.append(entries)
    return body


def _read(ctx: Context, trail: AuditTrail, number: str) -> tuple[bytes, Seen]:
    principal = trail.principal
    require_member(principal)
    with ctx.factory() as session:
        application = _load(session, number)
        trail.note(purpose=application.one_thing_code)
        holders = repo.part_departments(session, application.id)
        if principal.department == application.window_department:
            reason = "case file read by the window department"
        elif principal.department in holders:
            reason = "case file read by a department handling a part (并联办理)"
        else:
            raise Forbidden(
                f"{principal.department} may not read case file {number}: only the window "
                "department and the departments handling a part may"
            )
        body = _body(session, application)
        return body, Seen(application.one_thing_code, casefile.subjects(application), reason)


async def listing(
    ctx: Context, trail: AuditTrail, *, page: PageParams, status: str | None
) -> bytes:
    """Return one page of the caller department's applications (no personal data)."""
    principal = trail.principal
    require_member(principal)
    if status is not None and status not in rules.TRANSITIONS:
        message = f"unknown status {status!r} (one of {', '.join(rules.TRANSITIONS)})"
        raise invalid([{"field": "status", "message": message}], "invalid status")
    body = await asyncio.to_thread(_listing, ctx, principal, page, status)
    reason = "list of the department's applications (no personal data)"
    entries = trail.entries(
        decision="allowed", outcome=200, reason=reason, response_hash=casefile.body_sha256(body)
    )
    await trail.append(entries)
    return body


def _listing(ctx: Context, principal: Principal, page: PageParams, status: str | None) -> bytes:
    with ctx.factory() as session:
        rows, total = repo.list_for_department(
            session,
            department=principal.department,
            status=status,
            offset=page.offset,
            limit=page.size,
        )
        counts = repo.material_counts(session, [a.id for a in rows])
        items = [casefile.summary(a, counts.get(a.id, {})) for a in rows]
    found = Page[ApplicationSummary](items=items, total=total, page=page.page, size=page.size)
    return found.model_dump_json().encode("utf-8")


# ---- changes ----------------------------------------------------------------------------


async def change(ctx: Context, trail: AuditTrail, number: str, apply: Change) -> bytes:
    """Check a change (rolled back), log it, make it; return the case file after it."""
    trail.note(case_id=number[:128])
    _, seen = await asyncio.to_thread(_change, ctx, trail, number, apply, True)
    trail.note(purpose=seen.one_thing, keys=seen.subjects)
    await trail.append(trail.entries(decision="allowed", outcome=200, reason=seen.reason))
    body, _ = await asyncio.to_thread(_change, ctx, trail, number, apply, False)
    assert body is not None
    return body


def _change(
    ctx: Context, trail: AuditTrail, number: str, apply: Change, dry: bool
) -> tuple[bytes | None, Seen]:
    principal = trail.principal
    require_member(principal)
    with ctx.factory() as session:
        try:
            application = _load(session, number)
            trail.note(purpose=application.one_thing_code)
            if principal.department != application.window_department:
                raise Forbidden(
                    f"only the window department {application.window_department} may change "
                    f"application {number}"
                )
            subjects = casefile.subjects(application)
            reason = apply(session, application, dry)
            session.flush()
            if dry:
                session.rollback()
                return None, Seen(application.one_thing_code, subjects, reason)
            body = _body(session, application)
            session.commit()
        except StaleDataError:
            session.rollback()
            raise Conflict(f"application {number} was changed meanwhile; read it again") from None
        except BaseException:
            session.rollback()
            raise
        return body, Seen(application.one_thing_code, subjects, reason)


def _material(application: Application, code: str) -> ApplicationMaterial:
    found = next((m for m in application.materials if m.material_code == code), None)
    if found is None:
        raise NotFound(f"application {application.number} has no material {code}")
    return found


def decline(ctx: Context, principal: Principal, material: str, data: Any) -> Change:
    """Return the change declining a pulled material (preview): it becomes must_submit."""
    try:
        ask = Decline.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise invalid(
            [
                {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
                for e in exc.errors()
            ],
            "invalid decline",
        ) from None

    def apply(session: Session, application: Application, dry: bool) -> str:
        if application.status != rules.ACCEPTED:
            raise Conflict(
                f"application {application.number} is {application.status}: the preview "
                "ended when it was confirmed"
            )
        row = _material(application, material)
        if row.status not in rules.DECLINABLE_STATUSES:
            raise Conflict(
                f"material {material} is {row.status}: only fetched evidence is declined"
            )
        items = list(ask.items) if ask.items else [str(i) for i in row.items]
        unknown = [i for i in items if i not in row.items]
        if unknown:
            raise invalid(
                [
                    {
                        "field": "items",
                        "message": f"material {material} has no item(s) {', '.join(unknown)}",
                    }
                ],
                "invalid decline",
            )
        row.status = "must_submit"
        row.reason = "declined by the applicant in the preview" + (
            f": {ask.reason}" if ask.reason else ""
        )
        row.declined_items = items
        row.evidence = None
        row.provenance = None
        row.next_attempt_at = None
        record_event(
            session,
            application,
            actor=actor(principal),
            action="material_declined",
            reason=ask.reason,
            material=material,
            items=items,
        )
        return f"preview: material {material} declined ({', '.join(items)})"

    return apply


def add_file(ctx: Context, principal: Principal, material: str, data: Any) -> Change:
    """Return the change attaching a file the applicant brought for a material."""
    try:
        ask = FileAdd.model_validate(data)
    except ValidationError as exc:
        raise invalid(
            [
                {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
                for e in exc.errors()
            ],
            "invalid file",
        ) from None
    files, problems = decode_files([{**ask.model_dump(), "material": material}], field="body")
    raise_for(problems)

    def apply(session: Session, application: Application, dry: bool) -> str:
        if rules.is_final(application.status):
            raise Conflict(f"application {application.number} is {application.status}")
        row = _material(application, material)
        already = {material: [f.sha256 for f in row.files]} if row.files else {}
        raise_for(
            file_problems(
                files,
                known_materials=[material],
                settings=ctx.settings,
                already=already,
                field="body",
            )
        )
        if row.status not in rules.FILE_ACCEPTING_STATUSES:
            raise Conflict(
                f"material {material} is {row.status}: decline it before bringing a file"
            )
        f = files[0]
        if not dry:
            ctx.store.put(f.content)
        row.files.append(file_row(f, uploaded_by=actor(principal)))
        row.status, row.reason, row.next_attempt_at = "submitted", None, None
        record_event(
            session,
            application,
            actor=actor(principal),
            action="file_added",
            material=material,
            sha256=f.sha256,
        )
        return f"file {f.filename} brought for material {material}"

    return apply


def confirm(ctx: Context, principal: Principal) -> Change:
    """Return the change ending the preview: accepted → in_review, one part per department."""

    def apply(session: Session, application: Application, dry: bool) -> str:
        rules.check_transition(application.status, rules.IN_REVIEW, number=application.number)
        open_parts(session, application, actor=actor(principal))
        application.status = rules.IN_REVIEW
        application.confirmed_at = utcnow()
        record_event(
            session,
            application,
            actor=actor(principal),
            action="confirmed",
            from_status=rules.ACCEPTED,
            to_status=rules.IN_REVIEW,
        )
        return "case file confirmed: handed to the back office (并联办理)"

    return apply
