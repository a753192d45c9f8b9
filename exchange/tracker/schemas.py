"""API shapes of the data tracker (数据足迹): a citizen's view of who accessed their data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

# OpenAPI examples: 陈建国 sees 自然资源厅 read his 居民身份证信息 for 二手房转移登记.
_ITEMS: list[JsonDict] = [
    {"code": "id_number", "name": "公民身份号码"},
    {"code": "name", "name": "姓名"},
    {"code": "address", "name": "住址"},
]


class ItemRef(BaseModel):
    """A data item (信息项) by code, with its name from the catalogue."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEMS[0]]})

    code: str
    name: str | None


class AccessRead(BaseModel):
    """One access to the citizen's records, from the access log (访问日志).

    Names are today's catalogue names; codes are as logged.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 1024,
                    "at": "2026-11-27T09:30:01.135Z",
                    "department": "zj-zrzyt",
                    "department_name": "浙江省自然资源厅",
                    "system": "zj-zrzyt-window",
                    "system_name": "浙江省不动产登记一窗受理系统",
                    "provider": "zj-gat",
                    "provider_name": "浙江省公安厅",
                    "resource_code": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "items_requested": list(_ITEMS),
                    "items_returned": list(_ITEMS),
                    "purpose": "330000-ZR-001",
                    "purpose_name": "国有建设用地使用权及房屋所有权转移登记",
                    "case_id": "BJ330000-20261127-000001",
                    "decision": "allowed",
                    "reason": None,
                    "record_count": 1,
                    "entry_hash": "114fc7fd36b1f0c15dc901f18a244f8e"
                    "86b30f25e5941f0ecfea8746bab5c0ca",
                }
            ]
        }
    )

    seq: int = Field(description="the access-log entry's sequence number")
    at: datetime = Field(description="when (UTC)")
    department: str | None = Field(description="the department that asked")
    department_name: str | None
    system: str | None = Field(description="the department's system that asked")
    system_name: str | None
    provider: str | None = Field(description="the department holding the record")
    provider_name: str | None
    resource_code: str | None
    resource_name: str | None
    items_requested: list[ItemRef]
    items_returned: list[ItemRef] = Field(description="what actually left the provider")
    purpose: str | None = Field(description="the service item (办事事项) served")
    purpose_name: str | None
    case_id: str | None = Field(description="the application (办件) served, if any")
    decision: Literal["allowed", "partial", "denied", "source_error"]
    reason: str | None
    record_count: int
    entry_hash: str = Field(description="the entry's SHA-256 in the tamper-evident log")


class CitizenObjectionRead(BaseModel):
    """A citizen's own objection and the provider's answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "resource_code": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "provider": "zj-gat",
                    "provider_name": "浙江省公安厅",
                    "items": [_ITEMS[2]],
                    "description": "住址仍为迁出前地址，已于2025年迁入现住址",
                    "proposed_correction": {
                        "address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室"
                    },
                    "raised_at": "2026-11-27T12:05:00Z",
                    "audit_seq": 1024,
                    "case_id": "BJ330000-20261127-000001",
                    "status": "answered",
                    "due_on": "2026-12-04",
                    "overdue": False,
                    "escalated": False,
                    "answer": "corrected",
                    "answer_reason": "已按户籍迁入登记更正住址",
                    "answered_at": "2026-11-30T03:20:00Z",
                    "closed_at": None,
                }
            ]
        }
    )

    id: int
    resource_code: str
    resource_name: str
    provider: str
    provider_name: str
    items: list[ItemRef]
    description: str
    proposed_correction: dict[str, Any] | None
    raised_at: datetime
    audit_seq: int | None
    case_id: str | None
    status: Literal["open", "answered", "closed"]
    due_on: date = Field(description="the provider answers by this day (working days)")
    overdue: bool
    escalated: bool = Field(description="flagged to the province admin for being late")
    answer: Literal["corrected", "confirmed_correct", "rejected"] | None
    answer_reason: str | None
    answered_at: datetime | None
    closed_at: datetime | None
