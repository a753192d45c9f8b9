"""API shapes of data objections (数据异议/纠错) for departments and province admins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from exchange.core.inputs import INT64_MAX

ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"

Status = Literal["open", "answered", "closed"]
Answer = Literal["corrected", "confirmed_correct", "rejected"]
Role = Literal["provider", "raiser"]
Source = Literal["tracker", "department", "conflict"]
ItemCode = Annotated[str, StringConstraints(pattern=ITEM_CODE)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
# A proposed value per disputed item: text, a number, a date as text, true/false or null.
Correction = dict[ItemCode, str | int | float | bool | None]


class Schema(BaseModel):
    """Base of every objection request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ObjectionCreate(Schema):
    """A department's objection to items of one record (one resource, one key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resource_code": "301001002/000002",
                    "key": "330106197803154217",
                    "key_item": "id_number",
                    "items": ["address"],
                    "description": "身份证住址与不动产登记住址不一致，已于2025年迁入现住址",
                    "proposed_correction": {
                        "address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室"
                    },
                    "case_id": "BJ330000-20261127-000001",
                    "audit_seq": 1024,
                }
            ]
        }
    )

    resource_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="资源代码 of the resource holding the record, e.g. 301001002/000002"
    )
    key: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="the record's key (a 公民身份号码 is checked by GB 11643, a USCC by GB 32100)"
    )
    key_item: ItemCode | None = Field(
        default=None, description="which key item the key is for (default: the first)"
    )
    items: list[ItemCode] = Field(max_length=200, description="the disputed 信息项 codes")
    description: Text = Field(description="what is wrong (异议说明)")
    proposed_correction: Correction | None = Field(
        default=None, description="the value each disputed item should have, where known"
    )
    case_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    audit_seq: int | None = Field(
        default=None,
        ge=1,
        le=INT64_MAX,
        description="the caller's access-log entry that showed the record",
    )


class CitizenObjectionCreate(Schema):
    """A citizen's objection, from one access-log entry about them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 1024,
                    "items": ["address"],
                    "description": "住址仍为迁出前地址，已于2025年迁入现住址",
                    "proposed_correction": {
                        "address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室"
                    },
                }
            ]
        }
    )

    seq: int = Field(ge=1, le=INT64_MAX, description="the access entry's sequence number")
    items: list[ItemCode] = Field(max_length=200, description="the disputed 信息项 codes")
    description: Text = Field(description="what is wrong (异议说明)")
    proposed_correction: Correction | None = None


class AnswerCreate(Schema):
    """The provider's answer: corrected, confirmed correct, or rejected (with the reason)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"answer": "corrected", "reason": "已按户籍迁入登记更正住址"}]
        }
    )

    answer: Answer
    reason: Text | None = Field(default=None, description="required for a rejection")


class Closing(Schema):
    """Close an objection: accept the answer, or withdraw an open one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "已核实更正结果，关闭异议"}]}
    )

    reason: Text | None = None


class ObjectionEventRead(BaseModel):
    """One change of an objection: who, when, what and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-11-27T12:05:00Z",
                    "actor": "zj-zrzyt-window",
                    "action": "raised",
                    "reason": "身份证住址与不动产登记住址不一致，已于2025年迁入现住址",
                    "detail": {
                        "source": "department",
                        "items": ["address"],
                        "due_on": "2026-12-04",
                        "case_id": "BJ330000-20261127-000001",
                        "audit_seq": 1024,
                    },
                }
            ]
        }
    )

    at: datetime
    actor: str
    action: str
    reason: str | None
    detail: dict[str, Any]


# One objection as the examples show it (ObjectionDetail adds its history).
_OBJECTION_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "resource_code": "301001002/000002",
    "resource_name": "居民身份证信息",
    "provider": "zj-gat",
    "provider_name": "浙江省公安厅",
    "subject_key": "330106197803154217",
    "key_item": "id_number",
    "items": ["address"],
    "description": "身份证住址与不动产登记住址不一致，已于2025年迁入现住址",
    "proposed_correction": {"address": "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室"},
    "source": "department",
    "raised_by": "zj-zrzyt-window",
    "raiser_department": "zj-zrzyt",
    "raised_at": "2026-11-27T12:05:00Z",
    "case_id": "BJ330000-20261127-000001",
    "audit_seq": 1024,
    "status": "open",
    "due_on": "2026-12-04",
    "overdue": False,
    "working_days_overdue": None,
    "escalated_at": None,
    "answer": None,
    "answer_reason": None,
    "answered_by": None,
    "answered_at": None,
    "closed_by": None,
    "closed_at": None,
}


class ObjectionRead(BaseModel):
    """An objection as its provider, its raiser and the province see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OBJECTION_EXAMPLE]})

    id: int
    resource_code: str
    resource_name: str
    provider: str
    provider_name: str
    subject_key: str
    key_item: str | None
    items: list[str]
    description: str
    proposed_correction: dict[str, Any] | None
    source: Source
    raised_by: str
    raiser_department: str | None
    raised_at: datetime
    case_id: str | None
    audit_seq: int | None
    status: Status
    due_on: date = Field(description="the provider answers by this day (working days)")
    overdue: bool
    working_days_overdue: int | None
    escalated_at: datetime | None = Field(description="when flagged to the province admin")
    answer: Answer | None
    answer_reason: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None


class ObjectionDetail(ObjectionRead):
    """An objection with its full history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_OBJECTION_EXAMPLE,
                    "events": [
                        {
                            "at": "2026-11-27T12:05:00Z",
                            "actor": "zj-zrzyt-window",
                            "action": "raised",
                            "reason": "身份证住址与不动产登记住址不一致，已于2025年迁入现住址",
                            "detail": {
                                "source": "department",
                                "items": ["address"],
                                "due_on": "2026-12-04",
                                "case_id": "BJ330000-20261127-000001",
                                "audit_seq": 1024,
                            },
                        }
                    ],
                }
            ]
        }
    )

    events: list[ObjectionEventRead]
