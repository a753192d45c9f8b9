"""Submitting an application (一窗受理): validate, claim the key, pull everything, keep it.

``submit`` runs in this order: the ``Idempotency-Key`` and the body are checked, the caller
must be a department system (or an administrator) — the window department is the caller's
— and every input is validated (one-thing, identifiers' check digits, material keys, 容缺,
files; ``validation``) before anything is stored. Then the key is claimed (a replay answers
the stored bytes), the application row is committed to fix its number (the case id of every
pull), with the materials that need no pull (files brought, 容缺, not pullable) and the
application's id on the key's record, in one transaction. Then the pulls run and their
outcome is written (``completion``). If the access log cannot be written, or anything else
fails after the claim, the application is deleted and the key released (``undo``): nothing
half-written. A key whose application a dead process left is finished, not made again
(``takeover``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from exchange.applications import casefile, idempotency, rules
from exchange.applications.completion import RESERVE_MAX, RESERVE_SHARE, Unfinished, complete
from exchange.applications.context import Context, actor, invalid, require_member
from exchange.applications.fanout import MaterialSpec
from exchange.applications.materials import file_row, settled_row
from exchange.applications.models import Application
from exchange.applications.schemas import ApplicationSubmit
from exchange.applications.takeover import resume
from exchange.applications.undo import undo_submission
from exchange.applications.validation import Prepared, parse, prepare_submission
from exchange.core.db import session_scope
from exchange.grants.policy import hub_today
from exchange.identity.principal import Principal
from exchange.records.audited import AuditTrail


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
    prepared = await asyncio.to_thread(prepare_submission, ctx, ask)
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
            work = await asyncio.to_thread(resume, ctx, claim.application_id, prepared.specs)
        ctx.owners.remember(work.number, work.window_department)
        trail.note(case_id=work.number, purpose=prepared.one_thing_code)
        reserve = min(prepared.budget_seconds * RESERVE_SHARE, RESERVE_MAX)
        body = await complete(
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
        await undo_submission(ctx, claim, work)
        raise
    return 201, body


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
                row = settled_row(spec, ask, files, prepared.pending)
                if spec.code in files:
                    row.files.append(file_row(files[spec.code], uploaded_by=actor(principal)))
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
