"""API shapes of applications (办件): the submission, the preview actions and the case file.

The case file is the one shape the window, the back office and the console read; its JSON
is fixed by the applications contract (see ``CaseFile``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=4000)]


class Schema(BaseModel):
    """Base of every request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Applicant(Schema):
    """Who applies: a person or an organisation, with identifiers by kind."""

    kind: Literal["person", "organisation"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    identifiers: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="identifier kind → value, e.g. resident_id, uscc, property_cert_no",
    )


class FileIn(Schema):
    """A file the applicant brought for a material, as base64."""

    material: Code
    filename: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content_base64: str


class PendingIn(Schema):
    """A minor material (容缺) accepted now, promised by a date."""

    material: Code
    promised_by: date


class ApplicationSubmit(Schema):
    """Submit an application for a one-thing (一窗受理)."""

    one_thing: Code = Field(description="the one-thing (一件事) code, e.g. esf-transfer")
    applicant: Applicant
    material_keys: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="material code → key value, where a material's subject is not the "
        "applicant (e.g. the buyer's resident ID for buyer_id)",
    )
    consent_to_fetch: bool = Field(
        description="the applicant asked the hub to fetch their records (no pull without it)"
    )
    files: list[FileIn] = Field(default_factory=list, max_length=50)
    pending: list[PendingIn] = Field(default_factory=list, max_length=50)
    budget_ms: int | None = Field(
        default=None, ge=1, description="the total pull budget, at most the hub's setting"
    )


class FileAdd(Schema):
    """Bring a file for one material (the material is in the path)."""

    filename: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content_base64: str


class Decline(Schema):
    """Decline a pulled material in the preview: it becomes must_submit."""

    items: list[Code] | None = Field(
        default=None, max_length=200, description="the items declined (default: all)"
    )
    reason: Text | None = None


# ---- the case file -------------------------------------------------------------------


class Out(BaseModel):
    """Base of response shapes (emitted in field order)."""


class OneThingRef(Out):
    """The one-thing applied for."""

    code: str
    name: str


class WindowRef(Out):
    """Where the application was accepted (一窗受理)."""

    department: str
    system: str


class ApplicantOut(Out):
    """The applicant as submitted."""

    kind: str
    name: str | None
    identifiers: dict[str, Any]


class FileOut(Out):
    """A file the applicant brought (stored by hash, outside the database)."""

    filename: str
    content_type: str
    size: int
    sha256: str


class MaterialOut(Out):
    """One material and how it was obtained."""

    code: str
    name: str
    kind: str
    status: str
    resource: str | None
    service_item: str | None
    items: list[Any]
    subject_key: str | None
    reason: str | None
    promised_by: date | None
    evidence: dict[str, Any] | None = Field(description="item → value as pulled")
    provenance: dict[str, Any] | None
    evidence_sha256: str | None = Field(
        description="SHA-256 of the pulled records (the access-log entry's response hash)"
    )
    audit_seq: int | None
    declined_items: list[Any]
    attempts: int
    next_attempt_at: datetime | None
    files: list[FileOut]


class ConflictOut(Out):
    """Two sources disagreeing on one fact, and the objection opened with the authority."""

    subject_key: str
    fact: str
    values: list[Any]
    authoritative_resource: str
    objection_id: int | None


class PartOut(Out):
    """One department's part of the back office."""

    id: int
    department: str
    service_item: str
    status: str
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None


class EventOut(Out):
    """One change of the application."""

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None


class CaseFile(Out):
    """The case file (办件材料) of one application."""

    number: str
    status: str
    one_thing: OneThingRef
    window: WindowRef
    applicant: ApplicantOut
    visits: int
    accepted_at: datetime
    confirmed_at: datetime | None
    completed_at: datetime | None
    assembly_ms: int | None
    materials: list[MaterialOut]
    conflicts: list[ConflictOut]
    parts: list[PartOut]
    events: list[EventOut]


class ApplicationSummary(Out):
    """One application in a list: no personal data."""

    number: str
    status: str
    one_thing: str
    window_department: str
    window_system: str
    visits: int
    accepted_at: datetime
    confirmed_at: datetime | None
    completed_at: datetime | None
    assembly_ms: int | None
    materials: dict[str, int] = Field(description="material status → count")
