"""API shapes of applications (办件): the submission, the preview actions and the case file.

The case file is the one shape the window, the back office and the console read; its JSON
is fixed by the applications contract (see ``CaseFile``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=4000)]

# OpenAPI examples: 陈建国 sells his flat to 王晓明 (二手房交易过户, esf-transfer) at the
# window of 自然资源厅; both resident IDs are the demo's, with GB 11643 check digits.
_SELLER_ID = "330106197803154217"
_BUYER_ID = "330212199011083117"
_CERT_NO = "浙(2016)杭州市不动产权第0051234号"
_NUMBER = "BJ330000-20261127-000001"
_APPLICANT: JsonDict = {
    "kind": "person",
    "name": "陈建国",
    "identifiers": {"resident_id": _SELLER_ID, "property_cert_no": _CERT_NO},
}
_PDF: JsonDict = {
    "filename": "授权委托书.pdf",
    "content_type": "application/pdf",
    "content_base64": "JVBERi0xLjcK",
}
_FILE_OUT: JsonDict = {
    "filename": "授权委托书.pdf",
    "content_type": "application/pdf",
    "size": 9,
    "sha256": "0716f9264c9fe19f5d7455276107f3ddcc1d3497f63d60689a73558ae8a1bf5e",
}
_FETCHED: JsonDict = {
    "code": "seller_id",
    "name": "卖方身份证明",
    "kind": "pullable",
    "status": "fetched",
    "resource": "301001002/000002",
    "service_item": "330000-ZR-001",
    "items": ["id_number", "name", "address", "valid_until"],
    "subject_key": _SELLER_ID,
    "reason": None,
    "promised_by": None,
    "evidence": {
        "id_number": _SELLER_ID,
        "name": "陈建国",
        "address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室",
        "valid_until": None,
    },
    "provenance": {
        "provider": "zj-gat",
        "resource": "301001002/000002",
        "resource_version": "1.0",
        "retrieved_at": "2026-11-27T09:30:01.276Z",
        "update_cycle": "realtime",
        "grant_ids": [1],
        "masked_items": [],
        "records": 1,
    },
    "evidence_sha256": "422dcef63b359b47321af10ef2f8bb60e83c2e0e9431450430270cc1366f2dbb",
    "audit_seq": 1024,
    "declined_items": [],
    "attempts": 1,
    "next_attempt_at": None,
    "files": [],
}
_SUBMITTED: JsonDict = {
    "code": "power_of_attorney",
    "name": "授权委托书及受托人身份证明",
    "kind": "submitted",
    "status": "submitted",
    "resource": None,
    "service_item": "330000-ZR-001",
    "items": [],
    "subject_key": None,
    "reason": None,
    "promised_by": None,
    "evidence": None,
    "provenance": None,
    "evidence_sha256": None,
    "audit_seq": None,
    "declined_items": [],
    "attempts": 0,
    "next_attempt_at": None,
    "files": [_FILE_OUT],
}
_PART: JsonDict = {
    "id": 3,
    "department": "zj-zrzyt",
    "service_item": "330000-ZR-001",
    "status": "pending",
    "reason": None,
    "decided_by": None,
    "decided_at": None,
}
_EVENTS: list[JsonDict] = [
    {
        "at": "2026-11-27T09:30:01.412Z",
        "actor": "zj-zrzyt-window",
        "action": "submitted",
        "from_status": None,
        "to_status": "accepted",
        "reason": None,
    },
    {
        "at": "2026-11-27T09:34:12.481Z",
        "actor": "zj-zrzyt-window",
        "action": "confirmed",
        "from_status": "accepted",
        "to_status": "in_review",
        "reason": None,
    },
]


class Schema(BaseModel):
    """Base of every request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Applicant(Schema):
    """Who applies: a person or an organisation, with identifiers by kind."""

    model_config = ConfigDict(json_schema_extra={"examples": [_APPLICANT]})

    kind: Literal["person", "organisation"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    identifiers: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="identifier kind → value, e.g. resident_id, uscc, property_cert_no",
    )


class FileIn(Schema):
    """A file the applicant brought for a material, as base64."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"material": "power_of_attorney", **_PDF}]}
    )

    material: Code
    filename: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content_base64: str


class PendingIn(Schema):
    """A minor material (容缺) accepted now, promised by a date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"material": "family_members_statement", "promised_by": "2026-12-04"}]
        }
    )

    material: Code
    promised_by: date


class ApplicationSubmit(Schema):
    """Submit an application for a one-thing (一窗受理)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "one_thing": "esf-transfer",
                    "applicant": _APPLICANT,
                    "material_keys": {"buyer_id": _BUYER_ID},
                    "consent_to_fetch": True,
                    "files": [{"material": "power_of_attorney", **_PDF}],
                    "pending": [],
                    "budget_ms": 8000,
                }
            ]
        }
    )

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

    model_config = ConfigDict(json_schema_extra={"examples": [_PDF]})

    filename: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    content_base64: str


class Decline(Schema):
    """Decline a pulled material in the preview: it becomes must_submit."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": ["address"], "reason": "申请人现住址与身份证住址不一致，提交居住证明"}
            ]
        }
    )

    items: list[Code] | None = Field(
        default=None, max_length=200, description="the items declined (default: all)"
    )
    reason: Text | None = None


# ---- the case file -------------------------------------------------------------------


class Out(BaseModel):
    """Base of response shapes (emitted in field order)."""


class OneThingRef(Out):
    """The one-thing applied for."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "esf-transfer", "name": "二手房交易过户一件事"}]}
    )

    code: str
    name: str


class WindowRef(Out):
    """Where the application was accepted (一窗受理)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"department": "zj-zrzyt", "system": "zj-zrzyt-window"}]}
    )

    department: str
    system: str


class ApplicantOut(Out):
    """The applicant as submitted."""

    model_config = ConfigDict(json_schema_extra={"examples": [_APPLICANT]})

    kind: str
    name: str | None
    identifiers: dict[str, Any]


class FileOut(Out):
    """A file the applicant brought (stored by hash, outside the database)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FILE_OUT]})

    filename: str
    content_type: str
    size: int
    sha256: str


class MaterialOut(Out):
    """One material and how it was obtained."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FETCHED, _SUBMITTED]})

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject_key": _SELLER_ID,
                    "fact": "address",
                    "values": [
                        "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室",
                        "浙江省杭州市西湖区文三路138号",
                    ],
                    "authoritative_resource": "301001001/000001",
                    "objection_id": 7,
                }
            ]
        }
    )

    subject_key: str
    fact: str
    values: list[Any]
    authoritative_resource: str
    objection_id: int | None


class PartOut(Out):
    """One department's part of the back office."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PART]})

    id: int
    department: str
    service_item: str
    status: str
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None


class EventOut(Out):
    """One change of the application."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENTS[0]]})

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None


class CaseFile(Out):
    """The case file (办件材料) of one application."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": _NUMBER,
                    "status": "in_review",
                    "one_thing": {"code": "esf-transfer", "name": "二手房交易过户一件事"},
                    "window": {"department": "zj-zrzyt", "system": "zj-zrzyt-window"},
                    "applicant": _APPLICANT,
                    "visits": 1,
                    "accepted_at": "2026-11-27T09:30:01.123Z",
                    "confirmed_at": "2026-11-27T09:34:12.481Z",
                    "completed_at": None,
                    "assembly_ms": 256,
                    "materials": [_FETCHED, _SUBMITTED],
                    "conflicts": [],
                    "parts": [_PART],
                    "events": list(_EVENTS),
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": _NUMBER,
                    "status": "in_review",
                    "one_thing": "esf-transfer",
                    "window_department": "zj-zrzyt",
                    "window_system": "zj-zrzyt-window",
                    "visits": 1,
                    "accepted_at": "2026-11-27T09:30:01.123Z",
                    "confirmed_at": "2026-11-27T09:34:12.481Z",
                    "completed_at": None,
                    "assembly_ms": 256,
                    "materials": {"fetched": 9, "submitted": 1, "must_submit": 5},
                }
            ]
        }
    )

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
