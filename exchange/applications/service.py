"""Submitting an application (一窗受理): validate, claim the key, pull everything, keep it.

``submit`` runs in this order: the ``Idempotency-Key`` and the body are checked, the caller
must be a department system (or an administrator) — the window department is the caller's
— and every input is validated (one-thing, identifiers' check digits, material keys, 容缺,
files) before anything is stored. Then the key is claimed (a replay answers the stored
bytes), the application row is committed to fix its number (the case id of every pull),
with the materials that need no pull (files brought, 容缺, not pullable) and the
application's id on the key's record, in one transaction. Then the pulls run (``fanout``),
and the pulled materials, conflicts, the first event and the answer stored on the key are
written in one transaction. If the access log cannot be written, or anything else fails
after the claim, the application is deleted and the key released: nothing half-written.

A key makes one application for ever. If the process dies between the two transactions
(``kill -9``), the key stays in flight naming its application; once it is stale, the
client's resubmission with the same key takes it over and *finishes that application*
(pulls the materials not yet recorded, answers its case file) instead of making a second
one — and if the client never comes back, the background worker (``retry``) finishes it
the same way (``finish_abandoned``), so nothing is left half-made. A process that was only
slow finds its key taken over and answers 409 rather than writing twice
(``idempotency.Superseded``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from exchange.applications import casefile, conflicts, fanout, idempotency, rules
from exchange.applications import repository as repo
from exchange.applications.backoffice import record_event
from exchange.applications.fanout import MaterialSpec, Outcome
from exchange.applications.files import (
    IncomingFile,
    MaterialStore,
    decode_files,
    file_problems,
    status_for,
)
from exchange.applications.models import (
    Application,
    ApplicationConflict,
    ApplicationFile,
    ApplicationMaterial,
)
from exchange.applications.schemas import ApplicationSubmit
from exchange.audit.log import AuditLog
from exchange.core.db import session_scope, utcnow
from exchange.core.errors import Forbidden, InvalidInput, PayloadTooLarge
from exchange.core.settings import Settings
from exchange.grants.policy import hub_today
from exchange.identity.principal import Principal
from exchange.records.audited import AuditTrail
from exchange.records.service import Hub, hub_for

log = logging.getLogger("datarun.applications")

SUBMITTERS = frozenset({"catalog_admin", "province_admin"})  # people who may act as a window
# Identifiers that name the organisation itself (not its people): one subject for conflicts.
ORGANISATION_IDENTIFIERS = frozenset({"uscc", "name_declaration_no"})
CHECKED_KINDS = ("resident_id", "uscc")  # identifier kinds with a check digit
_RESERVE_SHARE, _RESERVE_MAX = 0.25, 0.5  # of the budget kept for writing the case file


class CaseOwners:
    """``app.state.case_owner``: the window department of an application number.

    A number's window never changes, so a found owner is remembered; a case id that is not
    shaped like a number is free text (None) without a query.
    """

    def __init__(self, factory: sessionmaker[Session], *, size: int = 50_000) -> None:
        self._factory = factory
        self._size = size
        self._known: dict[str, str] = {}

    async def __call__(self, case_id: str) -> str | None:
        """Return the department that owns ``case_id``, or None for an unknown case."""
        found = self._known.get(case_id)
        if found is not None or rules.parse_application_number(case_id) is None:
            return found
        owner = await asyncio.to_thread(self._read, case_id)
        if owner is not None:
            self.remember(case_id, owner)
        return owner

    def _read(self, number: str) -> str | None:
        with self._factory() as session:
            return repo.window_of(session, number)

    def remember(self, number: str, department: str) -> None:
        """Note the owner of a number just created here."""
        if len(self._known) >= self._size:
            self._known = {}
        self._known[number] = department

    def forget(self, number: str) -> None:
        """Forget a number (its application was deleted)."""
        self._known.pop(number, None)


@dataclass(frozen=True)
class Context:
    """What the application services use of the running hub."""

    settings: Settings
    factory: sessionmaker[Session]
    hub: Hub
    audit: AuditLog
    store: MaterialStore
    owners: CaseOwners


def context_for(state: Any) -> Context:
    """Return the applications context of a running hub (``app.state``)."""
    owners = getattr(state, "case_owner", None)
    if not isinstance(owners, CaseOwners):
        owners = state.case_owner = CaseOwners(state.sessionmaker)
    return Context(
        settings=state.settings,
        factory=state.sessionmaker,
        hub=hub_for(state),
        audit=state.audit,
        store=MaterialStore(state.settings.effective_materials_dir),
        owners=owners,
    )


def require_member(principal: Principal) -> None:
    """Raise Forbidden unless the caller is a department system or an administrator."""
    if principal.kind == "system" and principal.has_role("system"):
        return
    if principal.kind == "user" and principal.roles & SUBMITTERS:
        return
    raise Forbidden(
        f"{principal.subject} may not act on applications: department systems "
        "(or administrators) only"
    )


def actor(principal: Principal) -> str:
    """Return how events name the caller: the system's client id, else its subject."""
    return principal.client_id or principal.subject


def invalid(
    problems: Sequence[Mapping[str, Any]], what: str = "invalid application"
) -> InvalidInput:
    """Return the 422 naming every problem."""
    named = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return InvalidInput(f"{what}: {named}"[:2000], errors=[dict(p) for p in problems])


def parse(data: Any) -> ApplicationSubmit:
    """Validate a submission body (422 naming each bad field)."""
    try:
        return ApplicationSubmit.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise invalid(problems) from None


# ---- validation (before anything is stored) ---------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A valid submission, with the one-thing as it was read."""

    one_thing_id: int
    one_thing_code: str
    one_thing_name: str
    specs: tuple[MaterialSpec, ...]
    files: tuple[IncomingFile, ...]
    pending: Mapping[str, date]
    budget_seconds: float


def _specs(session: Session, code: str) -> tuple[int, str, tuple[MaterialSpec, ...]]:
    one_thing = repo.one_thing_by_code(session, code)
    if one_thing is None:
        message = f"no one-thing {code!r}"
        raise InvalidInput(message, errors=[{"field": "one_thing", "message": message}])
    specs = tuple(
        MaterialSpec(
            code=m.code,
            name=m.name,
            kind=m.kind,
            position=m.position,
            resource_code=m.resource_code,
            items=tuple(str(i) for i in m.items or []),
            key_identifier=m.key_identifier,
            minor=m.minor,
            commitment_allowed=m.commitment_allowed,
            service_item=m.service_item.code if m.service_item else None,
            purpose=m.service_item.code if m.service_item else one_thing.code,
        )
        for m in one_thing.materials
    )
    return one_thing.id, one_thing.name, specs


def identifier_problems(kind: str, value: str, field: str) -> list[dict[str, Any]]:
    """Return the problems of one key by its kind; ``…_resident_id``/``…_uscc`` are checked
    as resident IDs (GB 11643) and credit codes (GB 32100), like ``resident_id``/``uscc``."""
    base = next((k for k in CHECKED_KINDS if kind == k or kind.endswith(f"_{k}")), kind)
    return [
        {"field": field, "message": p["message"]} for p in rules.identifier_problems({base: value})
    ]


def prepare(
    session: Session, ask: ApplicationSubmit, *, settings: Settings, today: date
) -> Prepared:
    """Check a submission against the one-thing and the settings; raise 422/413 naming all."""
    one_thing_id, name, specs = _specs(session, ask.one_thing)
    by_code = {s.code: s for s in specs}
    problems = rules.identifier_problems(ask.applicant.identifiers)
    checked = {p["field"] for p in problems}
    for kind, value in ask.applicant.identifiers.items():
        where = f"applicant.identifiers.{kind}"
        if where not in checked:
            problems += identifier_problems(kind, value, where)
    for code, value in ask.material_keys.items():
        where = f"material_keys.{code}"
        spec = by_code.get(code)
        if spec is None:
            problems.append({"field": where, "message": f"no material {code} in {ask.one_thing}"})
        elif spec.kind != "pullable":
            problems.append({"field": where, "message": f"material {code} is not pulled"})
        else:
            problems += identifier_problems(spec.key_identifier or "key", value, where)
    pending: dict[str, date] = {}
    for i, item in enumerate(ask.pending):
        where = f"pending[{i}]"
        spec = by_code.get(item.material)
        if spec is None:
            problems.append(
                {
                    "field": f"{where}.material",
                    "message": f"no material {item.material} in {ask.one_thing}",
                }
            )
        elif not spec.minor:
            problems.append(
                {
                    "field": f"{where}.material",
                    "message": f"material {item.material} is not minor (容缺): it cannot wait",
                }
            )
        elif item.material in pending:
            problems.append(
                {"field": f"{where}.material", "message": f"material {item.material} listed twice"}
            )
        elif item.promised_by < today:
            problems.append(
                {"field": f"{where}.promised_by", "message": f"{item.promised_by} is in the past"}
            )
        else:
            pending[item.material] = item.promised_by
    files, bad = decode_files([f.model_dump() for f in ask.files])
    bad += file_problems(files, known_materials=list(by_code), settings=settings)
    for i, f in enumerate(files):
        if f.material in pending:
            problems.append(
                {
                    "field": f"files[{i}].material",
                    "message": f"material {f.material} is both brought and promised (pending)",
                }
            )
    limit = settings.application_budget_seconds
    if ask.budget_ms is not None and ask.budget_ms > limit * 1000:
        problems.append({"field": "budget_ms", "message": f"at most {limit * 1000:g} ms"})
    if problems or (bad and status_for(bad) != 413):
        raise invalid(problems + bad)
    if bad:
        raise PayloadTooLarge(invalid(bad, "file over the limit").detail, errors=bad)
    budget = ask.budget_ms / 1000 if ask.budget_ms is not None else limit
    return Prepared(one_thing_id, ask.one_thing, name, specs, tuple(files), pending, budget)


# ---- submission -------------------------------------------------------------------------


def _note_request(trail: AuditTrail, data: Any) -> None:
    """Note what a submission asked, so that a refusal is logged with it."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("one_thing"), str):
        trail.note(purpose=data["one_thing"][:128])
    applicant = data.get("applicant")
    identifiers = applicant.get("identifiers") if isinstance(applicant, dict) else None
    if isinstance(identifiers, dict):
        keys = [v for v in identifiers.values() if isinstance(v, str)][:20]
        trail.note(keys=keys)


async def submit(ctx: Context, trail: AuditTrail, data: Any, key: str | None) -> tuple[int, bytes]:
    """Accept an application and return (status, the case file's bytes)."""
    started = time.monotonic()
    principal = trail.principal
    _note_request(trail, data)
    problems = idempotency.key_problems(key)
    if problems:
        raise invalid(problems, "invalid Idempotency-Key")
    assert key is not None
    ask = parse(data)
    require_member(principal)
    prepared = await asyncio.to_thread(_prepare, ctx, ask)
    claim = await asyncio.to_thread(
        idempotency.claim,
        ctx.factory,
        caller=principal.subject,
        key=key,
        request_sha256=idempotency.request_sha256(data),
        stale_after_seconds=ctx.settings.idempotency_in_flight_seconds,
    )
    if claim.replay:
        return await _replay(trail, claim.status or 201, claim.body or "")
    work: Unfinished | None = None
    try:
        if claim.application_id is None:
            work = await asyncio.to_thread(_create, ctx, claim, ask, prepared, principal)
        else:  # a crashed process made it under this key: finish that one
            work = await asyncio.to_thread(_resume, ctx, claim.application_id, prepared.specs)
        ctx.owners.remember(work.number, work.window_department)
        trail.note(case_id=work.number, purpose=prepared.one_thing_code)
        reserve = min(prepared.budget_seconds * _RESERVE_SHARE, _RESERVE_MAX)
        body = await _complete(
            ctx,
            claim,
            work,
            principal=principal,
            request_id=trail.request_id,
            trail=trail,
            cutoff=started + prepared.budget_seconds - reserve,
        )
    except idempotency.Superseded:
        raise  # the key is someone else's now, and so is its application
    except BaseException:
        await _undo(ctx, claim, work)
        raise
    return 201, body


async def finish_abandoned(ctx: Context, claim: idempotency.Claim, *, request_id: str) -> str:
    """Finish the application of a key taken over from a dead process; return its number.

    The pulls are made as the window system that submitted (its grants apply), with the
    application's own budget; the answer is stored on the key, so the client's resubmission
    replays it. Raise ``idempotency.Superseded`` if the key was taken over meanwhile.
    """
    assert claim.application_id is not None
    work = await asyncio.to_thread(_resume, ctx, claim.application_id, None)
    principal = window_principal(work.window_system, work.window_department, token_id=request_id)
    reserve = min(work.budget_seconds * _RESERVE_SHARE, _RESERVE_MAX)
    await _complete(
        ctx,
        claim,
        work,
        principal=principal,
        request_id=request_id,
        trail=None,
        cutoff=time.monotonic() + work.budget_seconds - reserve,
    )
    return work.number


def window_principal(window_system: str, window_department: str, *, token_id: str) -> Principal:
    """Return the window system that submitted an application, as background work acts."""
    is_user = window_system.startswith("user:")
    return Principal(
        subject=window_system,
        kind="user" if is_user else "system",
        department=window_department,
        roles=frozenset() if is_user else frozenset({"system"}),
        token_id=token_id,
        client_id=None if is_user else window_system,
    )


def _prepare(ctx: Context, ask: ApplicationSubmit) -> Prepared:
    with ctx.factory() as session:
        return prepare(session, ask, settings=ctx.settings, today=hub_today())


@dataclass(frozen=True)
class Unfinished:
    """An accepted application whose pullable materials are not recorded yet."""

    application_id: int
    number: str
    one_thing_name: str
    window_department: str
    window_system: str
    identifiers: Mapping[str, str]
    material_keys: Mapping[str, str]
    consent: bool
    budget_seconds: float
    to_pull: tuple[MaterialSpec, ...]  # pullable materials with no row yet
    resumed: bool  # taken over from a process that died


def _pulled_here(spec: MaterialSpec, prepared: Prepared) -> bool:
    brought = any(f.material == spec.code for f in prepared.files)
    return spec.kind == "pullable" and not brought and spec.code not in prepared.pending


def _create(
    ctx: Context,
    claim: idempotency.Claim,
    ask: ApplicationSubmit,
    prepared: Prepared,
    principal: Principal,
) -> Unfinished:
    """Commit the application row (its id makes the number every pull names), the materials
    that need no pull, and the application's id on the key, in one transaction."""
    for f in prepared.files:
        ctx.store.put(f.content)
    files = {f.material: f for f in prepared.files}
    with session_scope(ctx.factory) as session:
        application = Application(
            number=f"new-{uuid.uuid4().hex}",
            one_thing_code=prepared.one_thing_code,
            one_thing_id=prepared.one_thing_id,
            window_department=principal.department,
            window_system=actor(principal),
            applicant_kind=ask.applicant.kind,
            applicant_name=ask.applicant.name,
            identifiers=dict(ask.applicant.identifiers),
            material_keys=dict(ask.material_keys),
            consent_to_fetch=ask.consent_to_fetch,
            status=rules.ACCEPTED,
            visits=1,
            budget_ms=int(prepared.budget_seconds * 1000),
        )
        session.add(application)
        session.flush()
        application.number = rules.application_number(application.id, hub_today())
        for spec in prepared.specs:
            if not _pulled_here(spec, prepared):
                row = _settled(spec, ask, files, prepared.pending)
                if spec.code in files:
                    f = files[spec.code]
                    row.files.append(
                        ApplicationFile(
                            filename=f.filename,
                            content_type=f.content_type,
                            size=f.size,
                            sha256=f.sha256,
                            uploaded_by=actor(principal),
                        )
                    )
                application.materials.append(row)
        session.flush()
        idempotency.attach(session, claim, application.id)
        return Unfinished(
            application_id=application.id,
            number=application.number,
            one_thing_name=prepared.one_thing_name,
            window_department=application.window_department,
            window_system=application.window_system,
            identifiers=dict(ask.applicant.identifiers),
            material_keys=dict(ask.material_keys),
            consent=ask.consent_to_fetch,
            budget_seconds=prepared.budget_seconds,
            to_pull=tuple(s for s in prepared.specs if _pulled_here(s, prepared)),
            resumed=False,
        )


def _resume(ctx: Context, application_id: int, specs: Sequence[MaterialSpec] | None) -> Unfinished:
    """Read back an application a dead process made: what it still has to pull."""
    with ctx.factory() as session:
        application = repo.by_id(session, application_id)
        if application is None:  # deleted with its key meanwhile: the key is not ours
            raise idempotency.Superseded(f"application {application_id} is gone; retry")
        if specs is None:
            _, _, specs = _specs(session, application.one_thing_code)
        have = {m.material_code for m in application.materials}
        return Unfinished(
            application_id=application.id,
            number=application.number,
            one_thing_name=repo.one_thing_name(session, application.one_thing_id),
            window_department=application.window_department,
            window_system=application.window_system,
            identifiers={str(k): str(v) for k, v in (application.identifiers or {}).items()},
            material_keys={str(k): str(v) for k, v in (application.material_keys or {}).items()},
            consent=application.consent_to_fetch,
            budget_seconds=(application.budget_ms or 0) / 1000
            or ctx.settings.application_budget_seconds,
            to_pull=tuple(s for s in specs if s.kind == "pullable" and s.code not in have),
            resumed=True,
        )


async def _complete(
    ctx: Context,
    claim: idempotency.Claim,
    work: Unfinished,
    *,
    principal: Principal,
    request_id: str | None,
    trail: AuditTrail | None,
    cutoff: float,
) -> bytes:
    """Pull what is left, write it, store the answer on the key; return the case file."""
    assembled = time.monotonic()
    outcomes = await _assemble(ctx, principal, request_id, work, cutoff)
    took = int((time.monotonic() - assembled) * 1000)
    if trail is not None:
        for outcome in outcomes.values():
            if outcome.appended:
                trail.recorded = True
                trail.appended.extend(outcome.appended)
        if not trail.recorded:  # nothing pulled: the submission itself is the entry
            trail.note(keys=[])
            reason = "application accepted; no record pulled"
            await trail.append(trail.entries(decision="allowed", outcome=201, reason=reason))
    return await asyncio.to_thread(_finish, ctx, claim, work, outcomes, actor(principal), took)


async def _assemble(
    ctx: Context,
    principal: Principal,
    request_id: str | None,
    work: Unfinished,
    cutoff: float,
) -> dict[str, Outcome]:
    """Plan and run the pulls; return the outcome of every material still to pull."""
    pulls, settled = await fanout.plan(
        ctx.hub,
        work.to_pull,
        consent=work.consent,
        identifiers=work.identifiers,
        material_keys=work.material_keys,
    )
    pulled = await fanout.pull_all(
        ctx.hub,
        audit=ctx.audit,
        principal=principal,
        request_id=request_id,
        case_id=work.number,
        pulls=pulls,
        per_source=ctx.settings.application_pull_timeout_seconds,
        cutoff=cutoff,
    )
    for outcome in pulled:
        settled[outcome.material] = outcome
    return settled


# When the database itself is what failed, undoing must wait for it: retried in the
# background for about a minute (then the key is taken over once it is stale).
UNDO_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_undoing: set[asyncio.Task[None]] = set()  # strong references to the background retries


async def _undo(ctx: Context, claim: idempotency.Claim, work: Unfinished | None) -> None:
    """Delete a half-made application and release its key (the submission failed)."""
    try:
        await asyncio.to_thread(_give_up, ctx, claim)
    except Exception as exc:
        log.warning(
            "could not yet undo the failed submission of key record %s (%s); retrying",
            claim.record_id,
            type(exc).__name__,
        )
        task = asyncio.create_task(_undo_later(ctx, claim, work))
        _undoing.add(task)
        task.add_done_callback(_undoing.discard)
        return
    if work is not None:
        ctx.owners.forget(work.number)


async def _undo_later(ctx: Context, claim: idempotency.Claim, work: Unfinished | None) -> None:
    """Retry undoing a failed submission until the database answers again (bounded)."""
    for delay in UNDO_RETRY_SECONDS:
        await asyncio.sleep(delay)
        try:
            await asyncio.to_thread(_give_up, ctx, claim)
        except Exception as exc:
            last = type(exc).__name__
            continue
        if work is not None:
            ctx.owners.forget(work.number)
        log.info("undid the failed submission of key record %s", claim.record_id)
        return
    log.error(
        "could not undo the failed submission of key record %s (%s): the key is released "
        "once it is older than idempotency_in_flight_seconds",
        claim.record_id,
        last,
    )


def _give_up(ctx: Context, claim: idempotency.Claim) -> None:
    """Release the key and delete its application, in one transaction, if still ours."""
    with session_scope(ctx.factory) as session:
        ours, application_id = idempotency.give_up(session, claim)
        if ours and application_id is not None:
            repo.delete_application(session, application_id)


async def _replay(trail: AuditTrail, status: int, body: str) -> tuple[int, bytes]:
    """Answer the stored response of an Idempotency-Key again (logged as a read of it)."""
    raw = body.encode("utf-8")
    try:
        stored = json.loads(body)
        materials = stored.get("materials") or []
        keys = [m["subject_key"] for m in materials if m.get("evidence") and m.get("subject_key")]
        trail.note(
            case_id=stored.get("number"), purpose=(stored.get("one_thing") or {}).get("code")
        )
    except (ValueError, AttributeError, TypeError, KeyError):
        keys = []
    trail.note(keys=list(dict.fromkeys(keys)))
    reason = "replay of the response stored for this Idempotency-Key"
    entries = trail.entries(
        decision="allowed", outcome=status, reason=reason, response_hash=casefile.body_sha256(raw)
    )
    await trail.append(entries)
    return status, raw


# ---- writing the outcome ----------------------------------------------------------------


def _finish(
    ctx: Context,
    claim: idempotency.Claim,
    work: Unfinished,
    outcomes: Mapping[str, Outcome],
    by: str,
    took_ms: int,
) -> bytes:
    """Store the pulled materials, conflicts, the first event and the answer on the key."""
    now = utcnow()
    schedule = ctx.settings.application_retry_schedule_seconds
    with session_scope(ctx.factory) as session:
        idempotency.guard(session, claim)  # first: the key's row stays ours until commit
        application = repo.by_id(session, work.application_id)
        if application is None:
            raise idempotency.Superseded(f"application {work.number} is gone; retry")
        have = {m.material_code for m in application.materials}
        for spec in work.to_pull:
            if spec.code not in have:
                row = _material(spec, work.identifiers, work.material_keys)
                apply_outcome(row, outcomes[spec.code], now=now, schedule=schedule, attempts=None)
                application.materials.append(row)
        application.assembly_ms = took_ms
        session.flush()
        session.expire(application, ["materials"])  # read back in position order
        counts: dict[str, int] = {}
        for m in application.materials:
            counts[m.status] = counts.get(m.status, 0) + 1
        detail: dict[str, Any] = {"resumed": True} if work.resumed else {}
        record_event(
            session,
            application,
            actor=by,
            action="submitted",
            to_status=rules.ACCEPTED,
            materials=counts,
            **detail,
        )
        flag_conflicts(session, application, settings=ctx.settings)
        session.flush()
        case = casefile.build(
            application,
            one_thing_name=work.one_thing_name,
            events=repo.events_of(session, application.id),
            conflicts=repo.conflicts_of(session, application.id),
        )
        body = casefile.to_bytes(case)
        idempotency.complete_in(
            session, claim, status=201, body=body.decode("utf-8"), application_id=application.id
        )
        return body


def _material(
    spec: MaterialSpec, identifiers: Mapping[str, str], keys: Mapping[str, str]
) -> ApplicationMaterial:
    return ApplicationMaterial(
        position=spec.position,
        material_code=spec.code,
        name=spec.name,
        kind=spec.kind,
        service_item=spec.service_item,
        resource_code=spec.resource_code,
        items=list(spec.items),
        subject_key=fanout.key_for(spec, identifiers, keys),
        attempts=0,
        declined_items=[],
    )


def _settled(
    spec: MaterialSpec,
    ask: ApplicationSubmit,
    files: Mapping[str, IncomingFile],
    pending: Mapping[str, date],
) -> ApplicationMaterial:
    """Return the row of a material that needs no pull: brought, 容缺, or not pullable."""
    row = _material(spec, ask.applicant.identifiers, ask.material_keys)
    if spec.code in files:
        row.status = "submitted"
    elif spec.code in pending:
        row.status, row.promised_by = "accepted_pending", pending[spec.code]
        row.reason = "容缺受理: accepted now, to be brought by the promised date"
    else:
        row.status = fanout.MUST_SUBMIT
        row.reason = "brought by the applicant (no catalogue resource holds it)"
        if spec.commitment_allowed:
            row.reason += "; a written commitment (承诺) may replace it"
    return row


def apply_outcome(
    row: ApplicationMaterial,
    outcome: Outcome,
    *,
    now: Any,
    schedule: Sequence[float],
    attempts: int | None,
) -> None:
    """Set a material from a pull's outcome (``attempts``: tries so far, None for the first)."""
    pulled = outcome.audit_seq is not None or outcome.appended
    row.attempts = attempts if attempts is not None else (1 if pulled else 0)
    row.subject_key = outcome.subject_key or row.subject_key
    row.status, row.reason = outcome.status, outcome.reason
    row.next_attempt_at = None
    if outcome.audit_seq is not None:
        row.audit_seq = outcome.audit_seq
    elif outcome.appended:
        row.audit_seq = outcome.appended[0].seq
    if outcome.status == fanout.FETCHED and outcome.records:
        row.evidence = outcome.records
        row.provenance = {
            **(outcome.records[0].get("provenance") or {}),
            "masked_items": sorted(outcome.masked),
        }
        row.evidence_sha256 = outcome.sha256
    elif outcome.status == fanout.UNAVAILABLE:
        done = max(row.attempts, 1)
        if done - 1 < len(schedule):
            row.next_attempt_at = now + timedelta(seconds=schedule[done - 1])
        else:
            row.status = fanout.MUST_SUBMIT
            row.reason = f"the source stayed unavailable after {done} attempts: {outcome.reason}"


def row_evidence(row: ApplicationMaterial) -> conflicts.Fetched | None:
    """Return what a fetched material says, as the conflict finder compares it."""
    if row.status != fanout.FETCHED or not row.evidence or not row.subject_key:
        return None
    provenance = row.provenance or {}
    return conflicts.Fetched(
        material=row.material_code,
        position=row.position,
        resource=row.resource_code or "",
        provider=str(provenance.get("provider") or ""),
        subject_key=row.subject_key,
        values=dict(row.evidence[0].get("values") or {}),
        masked=frozenset(provenance.get("masked_items") or ()),
    )


def flag_conflicts(session: Session, application: Application, *, settings: Settings) -> int:
    """Find conflicts among the fetched materials; keep the new ones with their objections."""
    evidence = [e for e in map(row_evidence, application.materials) if e is not None]
    same = []
    if application.applicant_kind == "organisation":  # its USCC and name declaration: one
        given = application.identifiers or {}
        same.append([str(v) for k, v in given.items() if k in ORGANISATION_IDENTIFIERS])
    found = conflicts.find_conflicts(evidence, same_subject=same)
    known = {(c.subject_key, c.fact) for c in repo.conflicts_of(session, application.id)}
    fresh = [f for f in found if (f.subject_key, f.fact) not in known]
    if not fresh:
        return 0
    ids: list[int | None]
    try:
        with session.begin_nested():
            ids = conflicts.open_objections(
                session,
                found=fresh,
                case_number=application.number,
                window_department=application.window_department,
                settings=settings,
            )
    except Exception:  # the conflict is still flagged; an objection can be raised by hand
        log.exception("objections for %s could not be opened", application.number)
        ids = [None] * len(fresh)
    for f, objection_id in zip(fresh, ids, strict=True):
        session.add(
            ApplicationConflict(
                application_id=application.id,
                subject_key=f.subject_key,
                fact=f.fact,
                values=list(f.values),
                authoritative_resource=f.authoritative_resource,
                objection_id=objection_id,
            )
        )
    return len(fresh)
