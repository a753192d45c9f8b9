"""Material rows (材料): made, settled without a pull, set from a pull, compared.

``material_row`` starts the row of one material; ``settled_row`` the row of one that needs
no pull (brought, 容缺, or not pullable); ``apply_outcome`` sets a row from a pull's outcome
(the first pull's and the background retries'); ``flag_conflicts`` compares what the
fetched materials say and keeps each new conflict (数据冲突) with its objection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from exchange.applications import conflicts, fanout
from exchange.applications import repository as repo
from exchange.applications.fanout import MaterialSpec, Outcome
from exchange.applications.files import IncomingFile
from exchange.applications.models import (
    Application,
    ApplicationConflict,
    ApplicationFile,
    ApplicationMaterial,
)
from exchange.applications.schemas import ApplicationSubmit
from exchange.core.settings import Settings

log = logging.getLogger("datarun.applications")

# Identifiers that name the organisation itself (not its people): one subject for conflicts.
ORGANISATION_IDENTIFIERS = frozenset({"uscc", "name_declaration_no"})


def material_row(
    spec: MaterialSpec, identifiers: Mapping[str, str], keys: Mapping[str, str]
) -> ApplicationMaterial:
    """Return a new row of a material, its subject key resolved, not yet pulled."""
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


def settled_row(
    spec: MaterialSpec,
    ask: ApplicationSubmit,
    files: Mapping[str, IncomingFile],
    pending: Mapping[str, date],
) -> ApplicationMaterial:
    """Return the row of a material that needs no pull: brought, 容缺, or not pullable."""
    row = material_row(spec, ask.applicant.identifiers, ask.material_keys)
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


def file_row(incoming: IncomingFile, *, uploaded_by: str) -> ApplicationFile:
    """Return the row of a file brought for a material (its content is stored by hash)."""
    return ApplicationFile(
        filename=incoming.filename,
        content_type=incoming.content_type,
        size=incoming.size,
        sha256=incoming.sha256,
        uploaded_by=uploaded_by,
    )


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
