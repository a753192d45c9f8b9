"""Applications (办件) for one-things: the case file, its materials, back-office parts, events.

An application is submitted by a window system (一窗受理) for a one-thing (一件事). The hub
pulls the pullable materials (each pull an audited record pull with the application's
``number`` as its case id), stores the evidence with provenance and hash, flags conflicts
between sources, lets the applicant preview and decline items, then hands one part
(``ApplicationPart``) to each department involved (并联办理). Every state change is an
``ApplicationEvent`` with time and actor.

Status of an application::

    accepted ──confirm──▶ in_review ──all parts approved──▶ completed
        │                    │
        │                    └──a part rejected──▶ returned ──resubmit──▶ in_review
        └──withdraw (also from in_review / returned)──▶ withdrawn

Status of a material (``ApplicationMaterial.status``): ``fetched`` (evidence kept),
``must_submit`` (the applicant brings it: the source holds no record, the applicant
declined it in the preview, or background retries ran out), ``accepted_pending`` (容缺:
accepted now, promised by ``promised_by``), ``refused`` (no grant covers it: ``reason``
names the missing grant), ``unavailable`` (source down or slow: retried in the background
on a bounded schedule, ``next_attempt_at``), ``submitted`` (a file the applicant brought).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.core.db import Base, utcnow

APPLICATION_STATUSES = ("accepted", "in_review", "returned", "completed", "withdrawn")
MATERIAL_STATUSES = (
    "fetched",
    "must_submit",
    "accepted_pending",
    "refused",
    "unavailable",
    "submitted",
)
PART_STATUSES = ("pending", "approved", "rejected")


class Application(Base):
    """One application (办件) of one applicant for one one-thing."""

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_one_thing_code_status", "one_thing_code", "status"),
        Index("ix_applications_window_department_created_at", "window_department", "created_at"),
        # Never reuse an id (hence a number) on SQLite: a submission whose access-log entry
        # cannot be written is deleted, while its pulls' entries keep naming its number.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public case id (办件编号), used as case_id in every pull and access-log entry.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    one_thing_code: Mapped[str] = mapped_column(String(64))
    one_thing_id: Mapped[int] = mapped_column(ForeignKey("one_things.id"))
    window_department: Mapped[str] = mapped_column(String(64))  # department code
    window_system: Mapped[str] = mapped_column(String(128))  # client id / user who submitted
    applicant_kind: Mapped[str] = mapped_column(String(16))  # person | organisation
    applicant_name: Mapped[str | None] = mapped_column(String(200), default=None)
    # identifier kind → value, e.g. {"resident_id": "3301…", "property_cert_no": "…"}
    identifiers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # material code → key value, where a material's subject is not the applicant
    # (e.g. the buyer's resident ID for buyer_id in 二手房交易过户).
    material_keys: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent_to_fetch: Mapped[bool] = mapped_column(default=False)  # the explicit request
    status: Mapped[str] = mapped_column(String(16), default="accepted")
    # Applicant visits to a window for this application (最多跑一次: at most one).
    visits: Mapped[int] = mapped_column(default=1)
    budget_ms: Mapped[int] = mapped_column(default=0)  # the total pull budget used
    assembly_ms: Mapped[int | None] = mapped_column(default=None)  # how long the pulls took
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic lock: two transitions at once → exactly one wins (the other 409).
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    materials: Mapped[list[ApplicationMaterial]] = relationship(
        back_populates="application",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ApplicationMaterial.position",
    )
    parts: Mapped[list[ApplicationPart]] = relationship(
        back_populates="application",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ApplicationPart.id",
    )


class ApplicationMaterial(Base):
    """One material (申请材料) of an application and how it was obtained."""

    __tablename__ = "application_materials"
    __table_args__ = (
        UniqueConstraint("application_id", "material_code"),
        Index("ix_application_materials_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    material_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # pullable | submitted (from the one-thing)
    service_item: Mapped[str | None] = mapped_column(String(64), default=None)  # the purpose
    resource_code: Mapped[str | None] = mapped_column(String(32), default=None)
    items: Mapped[list[Any]] = mapped_column(default=list)  # items the material needs
    subject_key: Mapped[str | None] = mapped_column(String(256), default=None)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    promised_by: Mapped[date | None] = mapped_column(default=None)  # 容缺: promised date
    # The evidence: item → value as pulled (masked where the grant says), its provenance
    # (provider, resource, version, retrieved_at, update cycle, grants) and SHA-256.
    evidence: Mapped[list[Any] | None] = mapped_column(default=None)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    declined_items: Mapped[list[Any]] = mapped_column(default=list)  # preview: declined
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship(back_populates="materials", lazy="raise")
    files: Mapped[list[ApplicationFile]] = relationship(
        back_populates="material",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ApplicationFile.id",
    )


class ApplicationFile(Base):
    """A file the applicant brought for a material: stored by hash outside the database."""

    __tablename__ = "application_files"
    __table_args__ = (UniqueConstraint("material_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("application_materials.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(160))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    material: Mapped[ApplicationMaterial] = relationship(back_populates="files", lazy="raise")


class ApplicationPart(Base):
    """One department's part of the back office (并联办理): its task and its decision."""

    __tablename__ = "application_parts"
    __table_args__ = (
        UniqueConstraint("application_id", "service_item"),
        Index("ix_application_parts_department_status", "department", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    department: Mapped[str] = mapped_column(String(64))  # department code
    service_item: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(160), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    application: Mapped[Application] = relationship(back_populates="parts", lazy="raise")


class ApplicationEvent(Base):
    """One change of an application: who, when, from which status to which, why."""

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_application_id_id", "application_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str | None] = mapped_column(String(16), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ApplicationConflict(Base):
    """Two sources disagreeing on one fact of one subject, and the objection it opened."""

    __tablename__ = "application_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    subject_key: Mapped[str] = mapped_column(String(256))
    fact: Mapped[str] = mapped_column(String(64))  # the item code both sources carry
    # [{"material": …, "resource": …, "provider": …, "value": …}, …]
    values: Mapped[list[Any]] = mapped_column(default=list)
    authoritative_resource: Mapped[str] = mapped_column(String(32))
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("data_objections.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` of a caller: in flight, or done with the response to replay.

    Inserted (committed) before the work starts, so a second request with the same key
    from any hub process finds it: in flight → 409; done with the same payload hash → the
    stored response; a different payload → 422.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(160))  # the system's client id
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_flight")  # in_flight | done
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
