"""The case file (办件材料): an application as the window and the back office read it.

Evidence is kept as the pull returned it: the list of records ``{"key", "values",
"provenance"}`` whose canonical JSON hashes to ``evidence_sha256`` (the hash the pull's
access-log entry carries, so anyone can check the case file against the log). The case file
shows the first record's values as ``evidence`` and its provenance; a source holding
several records for one key (two marriages, two receipts) lists the others under
``provenance.additional_records``, so nothing pulled is hidden.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from exchange.applications.models import (
    Application,
    ApplicationConflict,
    ApplicationEvent,
    ApplicationMaterial,
)
from exchange.applications.schemas import (
    ApplicantOut,
    ApplicationSummary,
    CaseFile,
    ConflictOut,
    EventOut,
    FileOut,
    MaterialOut,
    OneThingRef,
    PartOut,
    WindowRef,
)


def evidence_view(
    records: Sequence[Any] | None, stored: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return (evidence, provenance) of stored records as the case file shows them."""
    if not records:
        return None, None
    first = records[0]
    evidence = dict(first.get("values") or {})
    provenance = dict(stored or first.get("provenance") or {})
    provenance["records"] = len(records)
    if len(records) > 1:
        provenance["additional_records"] = [dict(r.get("values") or {}) for r in records[1:]]
    return evidence, provenance


def material_out(m: ApplicationMaterial) -> MaterialOut:
    """Return one material of the case file."""
    evidence, provenance = evidence_view(m.evidence, m.provenance)
    return MaterialOut(
        code=m.material_code,
        name=m.name,
        kind=m.kind,
        status=m.status,
        resource=m.resource_code,
        service_item=m.service_item,
        items=list(m.items or []),
        subject_key=m.subject_key,
        reason=m.reason,
        promised_by=m.promised_by,
        evidence=evidence,
        provenance=provenance,
        evidence_sha256=m.evidence_sha256,
        audit_seq=m.audit_seq,
        declined_items=list(m.declined_items or []),
        attempts=m.attempts,
        next_attempt_at=m.next_attempt_at,
        files=[
            FileOut(filename=f.filename, content_type=f.content_type, size=f.size, sha256=f.sha256)
            for f in m.files
        ],
    )


def build(
    application: Application,
    *,
    one_thing_name: str,
    events: Sequence[ApplicationEvent],
    conflicts: Sequence[ApplicationConflict],
) -> CaseFile:
    """Return the case file of an application (materials and parts loaded with it)."""
    a = application
    return CaseFile(
        number=a.number,
        status=a.status,
        one_thing=OneThingRef(code=a.one_thing_code, name=one_thing_name),
        window=WindowRef(department=a.window_department, system=a.window_system),
        applicant=ApplicantOut(
            kind=a.applicant_kind, name=a.applicant_name, identifiers=dict(a.identifiers or {})
        ),
        visits=a.visits,
        accepted_at=a.accepted_at,
        confirmed_at=a.confirmed_at,
        completed_at=a.completed_at,
        assembly_ms=a.assembly_ms,
        materials=[material_out(m) for m in a.materials],
        conflicts=[
            ConflictOut(
                subject_key=c.subject_key,
                fact=c.fact,
                values=list(c.values or []),
                authoritative_resource=c.authoritative_resource,
                objection_id=c.objection_id,
            )
            for c in conflicts
        ],
        parts=[
            PartOut(
                id=p.id,
                department=p.department,
                service_item=p.service_item,
                status=p.status,
                reason=p.reason,
                decided_by=p.decided_by,
                decided_at=p.decided_at,
            )
            for p in a.parts
        ],
        events=[
            EventOut(
                at=e.at,
                actor=e.actor,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
            )
            for e in events
        ],
    )


def to_bytes(case: CaseFile) -> bytes:
    """Return the case file's JSON bytes (UTF-8, Chinese as itself)."""
    return case.model_dump_json().encode("utf-8")


def body_sha256(body: bytes) -> str:
    """Return the hex SHA-256 of a response body (the access-log entry's response hash)."""
    return hashlib.sha256(body).hexdigest()


def subjects(application: Application) -> list[str]:
    """Return the data subjects whose records the case file shows (distinct, in order)."""
    keys = [m.subject_key for m in application.materials if m.evidence and m.subject_key]
    return list(dict.fromkeys(keys))


def summary(application: Application, counts: dict[str, int]) -> ApplicationSummary:
    """Return an application as a list shows it: no personal data."""
    a = application
    return ApplicationSummary(
        number=a.number,
        status=a.status,
        one_thing=a.one_thing_code,
        window_department=a.window_department,
        window_system=a.window_system,
        visits=a.visits,
        accepted_at=a.accepted_at,
        confirmed_at=a.confirmed_at,
        completed_at=a.completed_at,
        assembly_ms=a.assembly_ms,
        materials=counts,
    )
