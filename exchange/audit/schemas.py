"""API shapes of the access log: entries, verification, checkpoints and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Decision = Literal["allowed", "partial", "denied", "source_error"]
ReportName = Literal["top-consumers", "no-case", "off-hours", "denial-spikes", "subject"]

# OpenAPI examples: 自然资源厅's window pulls the seller's 居民身份证信息 for 二手房转移登记.
_ENTRY: JsonDict = {
    "seq": 1024,
    "at": "2026-11-27T09:30:01.135Z",
    "request_id": "4e41bff58a034265a7edee3a098c6249",
    "system": "zj-zrzyt-window",
    "department": "zj-zrzyt",
    "token_jti": "6b6dcbcee10e44fb869390446dc48ce0",
    "provider": "zj-gat",
    "resource_code": "301001002/000002",
    "resource_version": "1.0",
    "items_requested": ["id_number", "name", "address", "valid_until"],
    "items_returned": ["id_number", "name", "address", "valid_until"],
    "subject_key": "330106197803154217",
    "purpose": "330000-ZR-001",
    "case_id": "BJ330000-20261127-000001",
    "grant_ids": [1],
    "decision": "allowed",
    "reason": None,
    "policy_version": 20,
    "outcome": 200,
    "record_count": 1,
    "latency_ms": 38,
    "response_hash": "b930700f4a5b1e35e121e87db2dc9cb102fa7c5771645e8e561e16b6ae0fd5da",
    "entry_hash": "114fc7fd36b1f0c15dc901f18a244f8e86b30f25e5941f0ecfea8746bab5c0ca",
    "chain_hash": "52453d5778706c0b886587300080d4b1b50432df741773315d9c535babee0636",
}
_CHAIN_HEAD = "52453d5778706c0b886587300080d4b1b50432df741773315d9c535babee0636"
_CHECKPOINT_KEYS: JsonDict = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "tA3r8tpf1t21Fgh1hJTQ78lRStD_BxDQV2QHIXrRgic",
            "kid": "audit-20261127-955b0913",
            "use": "sig",
        }
    ]
}


class Schema(BaseModel):
    """Base of every access-log shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class AuditEntryRead(Schema):
    """One access-log entry (访问日志), as stored and hashed."""

    model_config = ConfigDict(
        extra="forbid", from_attributes=True, json_schema_extra={"examples": [_ENTRY]}
    )

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

    model_config = ConfigDict(json_schema_extra={"examples": [{"from_seq": 1}]})

    from_seq: int = Field(default=1, ge=1, description="recompute entries from this one on")


class ProblemRead(Schema):
    """One thing verification found wrong."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 1024,
                    "kind": "entry_hash",
                    "detail": "fields do not match entry_hash",
                }
            ]
        }
    )

    seq: int | None = Field(description="the first bad sequence number it implies")
    kind: str
    detail: str


class VerifyReport(Schema):
    """The outcome of a verification."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "size": 1024,
                    "from_seq": 1,
                    "entries_checked": 1024,
                    "checkpoints_checked": 1,
                    "first_bad_seq": None,
                    "problems": [],
                    "seconds": 0.012,
                    "rate": 85333.3,
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "statement": {
                        "log": "datarun-audit/v1",
                        "type": "checkpoint",
                        "size": 1000,
                        "chain_head": _CHAIN_HEAD,
                        "at": "2026-11-27T09:00:00.000Z",
                        "previous": None,
                        "key_id": "audit-20261127-955b0913",
                    },
                    # signed by the key of the checkpoint-key example; verifiable with it
                    "signature": "Dur7NzlMc8shYSjFDSs5S9NCuFSegac3aJR96pUuosTwEtL_zgXVE7zJUBuiwefh"
                    "l420Hn712qVTGLNn8DOnCQ",
                    "hash": "4035e2c7185a48ae863de78db9256077c76c4692ee21f2a5b706e2f8f4b78288",
                }
            ]
        }
    )

    statement: dict[str, Any]
    signature: str
    hash: str


class JWKSet(Schema):
    """The public checkpoint keys (RFC 7517)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CHECKPOINT_KEYS]})

    keys: list[dict[str, Any]]


class ReportRequest(Schema):
    """A report over the Parquet exports in the hub's export directory."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "top-consumers", "limit": 5}]}
    )

    name: ReportName
    limit: int = Field(default=20, ge=1, le=10_000)
    threshold: int | None = Field(default=None, ge=1, description="denials per hour")
    z: float = Field(default=3.0, gt=0, le=50, description="z-score for denial spikes")
    subject: str | None = Field(
        default=None, min_length=1, max_length=256, description="raw key (subject report)"
    )


class ReportRead(Schema):
    """A report's columns and rows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "top-consumers",
                    "columns": ["resource_code", "department", "system", "pulls", "subjects"],
                    "rows": [["301001002/000002", "zj-zrzyt", "zj-zrzyt-window", 5812, 2906]],
                }
            ]
        }
    )

    name: str
    columns: list[str]
    rows: list[list[Any]]
