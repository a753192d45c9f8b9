"""API shapes of data objections (数据异议/纠错) for departments and province admins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
        default=None, ge=1, description="the caller's access-log entry that showed the record"
    )


class CitizenObjectionCreate(Schema):
    """A citizen's objection, from one access-log entry about them."""

    seq: int = Field(ge=1, description="the access entry's sequence number")
    items: list[ItemCode] = Field(max_length=200, description="the disputed 信息项 codes")
    description: Text = Field(description="what is wrong (异议说明)")
    proposed_correction: Correction | None = None


class AnswerCreate(Schema):
    """The provider's answer: corrected, confirmed correct, or rejected (with the reason)."""

    answer: Answer
    reason: Text | None = Field(default=None, description="required for a rejection")


class Closing(Schema):
    """Close an objection: accept the answer, or withdraw an open one."""

    reason: Text | None = None


class ObjectionEventRead(BaseModel):
    """One change of an objection: who, when, what and why."""

    at: datetime
    actor: str
    action: str
    reason: str | None
    detail: dict[str, Any]


class ObjectionRead(BaseModel):
    """An objection as its provider, its raiser and the province see it."""

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

    events: list[ObjectionEventRead]
