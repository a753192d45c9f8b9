"""API shapes of record pulls: the lookup request and the answer with provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

Partial = Literal["deny", "allow"]
Text = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# OpenAPI examples: the seller of 二手房交易过户 (esf-transfer) looked up in 居民身份证信息 of
# 浙江省公安厅 by 自然资源厅's window; the resident ID is the demo's (GB 11643 check digit).
_SELLER_ID = "330106197803154217"
_REF: JsonDict = {
    "code": "301001002/000002",
    "name": "居民身份证信息",
    "version": "1.0",
    "status": "published",
    "provider": "zj-gat",
    "provider_name": "浙江省公安厅",
    "update_cycle": "realtime",
}
_PROVENANCE: JsonDict = {
    "provider": "zj-gat",
    "resource": "301001002/000002",
    "resource_version": "1.0",
    "retrieved_at": "2026-11-27T09:30:01.113Z",
    "update_cycle": "realtime",
    "grant_ids": [1],
}
_RECORD: JsonDict = {
    "key": _SELLER_ID,
    "values": {
        "id_number": _SELLER_ID,
        "name": "陈建国",
        "address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室",
        "valid_until": None,
    },
    "provenance": _PROVENANCE,
}


class Schema(BaseModel):
    """Base of every record-pull shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class LookupRequest(Schema):
    """Look up records of one resource by key, for a purpose (and the case it serves)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [_SELLER_ID],
                    "items": ["id_number", "name", "address", "valid_until"],
                    "purpose": "330000-ZR-001",
                    "case_id": "BJ330000-20261127-000001",
                    "partial": "deny",
                }
            ]
        }
    )

    keys: list[str] = Field(
        min_length=1,
        max_length=10_000,
        description="key values (e.g. 公民身份号码), at most records_max_batch (default 100)",
    )
    items: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000, description='信息项 codes, named one by one ("*" refused)'
    )
    purpose: Text = Field(description="the service item (办事事项) or one-thing (一件事) code")
    case_id: Text | None = Field(default=None, description="the case (办件) the pull serves")
    partial: Partial = Field(
        default="deny",
        description="allow: return the granted items and list the others; deny: 403 instead",
    )


class ResourceRef(Schema):
    """The entry the records come from."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REF]})

    code: str
    name: str
    version: str
    status: str
    provider: str
    provider_name: str
    update_cycle: str


class Provenance(Schema):
    """Where one record comes from and under which grants it was released."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PROVENANCE]})

    provider: str = Field(description="the provider department code")
    resource: str
    resource_version: str
    retrieved_at: datetime = Field(description="when the hub read it from the source (UTC)")
    update_cycle: str = Field(description="how often the provider updates the entry (更新周期)")
    grant_ids: list[int] = Field(description="the grants that release its items")


class RecordOut(Schema):
    """One record of one data subject."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RECORD]})

    key: str = Field(description="the key asked, as sent")
    values: dict[str, Any] = Field(
        description="item → value: strings for decimals, dates and base64 bytes; "
        "a masked value is a string, a withheld binary value null"
    )
    provenance: Provenance


class LookupResponse(Schema):
    """Records found, with provenance, and the SHA-256 of ``records`` (see records_sha256)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "a7ddaf4d536c483299183ec8fa18c6aa",
                    "decision": "allowed",
                    "resource": _REF,
                    "purpose": "330000-ZR-001",
                    "case_id": "BJ330000-20261127-000001",
                    "items": ["id_number", "name", "address", "valid_until"],
                    "denied_items": [],
                    "masked_items": [],
                    "grants": {"id_number": 1, "name": 1, "address": 1, "valid_until": 1},
                    "policy_version": 20,
                    "records": [_RECORD],
                    "missing": [],
                    "truncated": False,
                    # records_sha256(records), as exchange/records/rules.py computes it
                    "records_sha256": "b930700f4a5b1e35e121e87db2dc9cb1"
                    "02fa7c5771645e8e561e16b6ae0fd5da",
                }
            ]
        }
    )

    request_id: str | None
    decision: Literal["allowed", "partial"]
    resource: ResourceRef
    purpose: str
    case_id: str | None
    items: list[str] = Field(description="the items returned")
    denied_items: list[str] = Field(description="items asked but outside the grant (partial)")
    masked_items: list[str] = Field(description="items shown masked (脱敏) under the grant")
    grants: dict[str, int] = Field(description="item → the grant that releases it")
    policy_version: int
    records: list[RecordOut]
    missing: list[str] = Field(description="keys the source holds no record for")
    truncated: bool = Field(description="the source held more records than the hub returns")
    records_sha256: str = Field(
        description="hex SHA-256 of the canonical JSON of `records` (keys sorted, no "
        "whitespace, UTF-8); also in the Records-Digest header and the access log"
    )
