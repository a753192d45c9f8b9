"""API shapes of the access log: entries, verification, checkpoints and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["allowed", "partial", "denied", "source_error"]
ReportName = Literal["top-consumers", "no-case", "off-hours", "denial-spikes", "subject"]


class Schema(BaseModel):
    """Base of every access-log shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class AuditEntryRead(Schema):
    """One access-log entry (访问日志), as stored and hashed."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    seq: int = Field(description="sequence number: strictly increasing, no gaps")
    at: datetime = Field(description="when the decision was made (UTC, milliseconds)")
    request_id: str | None
    system: str | None = Field(description="the calling system's client id")
    department: str | None = Field(description="the caller's department")
    token_jti: str | None
    provider: str | None = Field(description="the provider department")
    resource_code: str | None
    resource_version: str | None
    items_requested: list[str]
    items_returned: list[str]
    subject_key: str | None = Field(description="the data subject's key")
    purpose: str | None = Field(description="the service item (办事事项) served")
    case_id: str | None
    grant_ids: list[int]
    decision: Decision
    reason: str | None
    policy_version: int | None
    outcome: int = Field(description="the HTTP status answered")
    record_count: int
    latency_ms: int
    response_hash: str | None
    entry_hash: str
    chain_hash: str


class VerifyRequest(Schema):
    """Which part of the log to verify (signatures and checkpoints are always checked)."""

    from_seq: int = Field(default=1, ge=1, description="recompute entries from this one on")


class ProblemRead(Schema):
    """One thing verification found wrong."""

    seq: int | None = Field(description="the first bad sequence number it implies")
    kind: str
    detail: str


class VerifyReport(Schema):
    """The outcome of a verification."""

    ok: bool
    size: int = Field(description="the last sequence number stored")
    from_seq: int
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    problems: list[ProblemRead]
    seconds: float
    rate: float = Field(description="entries verified per second")


class CheckpointDocument(Schema):
    """A signed checkpoint, as written to the checkpoint directory."""

    statement: dict[str, Any]
    signature: str
    hash: str


class JWKSet(Schema):
    """The public checkpoint keys (RFC 7517)."""

    keys: list[dict[str, Any]]


class ReportRequest(Schema):
    """A report over the Parquet exports in the hub's export directory."""

    name: ReportName
    limit: int = Field(default=20, ge=1, le=10_000)
    threshold: int | None = Field(default=None, ge=1, description="denials per hour")
    z: float = Field(default=3.0, gt=0, le=50, description="z-score for denial spikes")
    subject: str | None = Field(
        default=None, min_length=1, max_length=256, description="raw key (subject report)"
    )


class ReportRead(Schema):
    """A report's columns and rows."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
