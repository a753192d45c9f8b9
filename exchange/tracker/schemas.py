"""API shapes of the data tracker (数据足迹): a citizen's view of who accessed their data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ItemRef(BaseModel):
    """A data item (信息项) by code, with its name from the catalogue."""

    code: str
    name: str | None


class AccessRead(BaseModel):
    """One access to the citizen's records, from the access log (访问日志).

    Names are today's catalogue names; codes are as logged.
    """

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
