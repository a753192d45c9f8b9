"""API shapes of grants (共享权限), their history, the permission views and the demand list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{1,63}$"
ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"
PURPOSE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Status = Literal["pending", "approved", "refused", "revoked", "expired", "lapsed"]
Role = Literal["consumer", "provider"]
ItemCode = Annotated[str, StringConstraints(pattern=ITEM_CODE)]
PurposeCode = Annotated[str, StringConstraints(pattern=PURPOSE_CODE)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class Schema(BaseModel):
    """Base of every grant request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class GrantCreate(Schema):
    """A grant request: read named items of one resource, for named purposes, for a period."""

    consumer: DepartmentCode | None = Field(
        default=None, description="the consumer department (the caller's by default)"
    )
    consumer_system: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="client id of one system of the consumer (default: every system of the "
        "department; a system requesting on its own behalf: itself)",
    )
    resource: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="资源代码 of the resource, e.g. 301001002/000002"
    )
    items: list[ItemCode] = Field(min_length=1, max_length=1000, description="信息项 codes")
    purposes: list[PurposeCode] = Field(
        min_length=1, max_length=100, description="service item (办事事项) or one-thing codes"
    )
    starts_on: date | None = Field(default=None, description="first day (default: today)")
    ends_on: date | None = Field(default=None, description="last day (default: one year on)")
    masked: bool = Field(default=False, description="the consumer sees masked values only")
    need: Reason = Field(description="the stated need (申请理由)")


class Approval(Schema):
    """Approve a pending request, possibly narrowing its items or period (never widening)."""

    items: list[ItemCode] | None = Field(default=None, description="a subset of those requested")
    starts_on: date | None = None
    ends_on: date | None = None
    reason: Reason | None = None


class Refusal(Schema):
    """Refuse a pending request; the reason is required."""

    reason: Reason


class Revocation(Schema):
    """Revoke an approved grant; the reason is required."""

    reason: Reason


class Recertification(Schema):
    """Re-certify (复核) an approved grant for another year."""

    reason: Reason | None = None


class GrantEventRead(BaseModel):
    """One change of a grant, or one refused attempt at it: who, when, what and why."""

    at: datetime
    actor: str
    action: str
    reason: str | None
    detail: dict[str, Any]


class GrantRead(BaseModel):
    """A grant as the hub holds it; ``status`` is its status today (expiry and lapse by date)."""

    id: int
    consumer: str
    consumer_name: str
    consumer_system: str | None
    resource: str
    resource_name: str
    provider: str
    share_type: str
    items: list[str]
    purposes: list[str]
    masked: bool
    starts_on: date
    ends_on: date
    need: str
    status: Status
    in_force: bool = Field(description="whether it gives access today")
    requested_by: str
    requested_at: datetime
    due_on: date | None = Field(description="the provider's deadline (10 working days)")
    overdue: bool
    working_days_overdue: int | None
    escalated_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    certified_on: date | None
    recertify_by: date | None = Field(description="lapses unless re-certified by this day")
    ended_at: datetime | None
    row_version: int


class GrantDetail(GrantRead):
    """A grant with its full history, oldest first."""

    events: list[GrantEventRead]


class ResourcePermission(BaseModel):
    """One consumer that may read a resource: which items, for what, until when."""

    grant_id: int
    consumer: str
    consumer_name: str
    consumer_system: str | None = Field(description="null: every system of the department")
    items: list[str]
    purposes: list[str]
    masked: bool
    starts_on: date
    ends_on: date
    recertify_by: date | None
    in_force: bool


class ResourcePermissions(BaseModel):
    """Who can read a resource (approved grants not yet ended), one page of them."""

    resource: str
    resource_name: str
    provider: str
    share_type: str
    grants: list[ResourcePermission]
    total: int
    page: int
    size: int


class SystemPermission(BaseModel):
    """One resource a system may read: its own grant, or one inherited from its department."""

    grant_id: int
    resource: str
    resource_name: str
    provider: str
    items: list[str]
    purposes: list[str]
    masked: bool
    starts_on: date
    ends_on: date
    recertify_by: date | None
    in_force: bool
    inherited: bool = Field(description="granted to the whole department, not the system")


class SystemPermissions(BaseModel):
    """What a system can read (approved grants not yet ended), one page of them."""

    client_id: str
    department: str
    grants: list[SystemPermission]
    total: int
    page: int
    size: int


DemandStatus = Literal["covered", "pending", "missing", "not_shareable", "unavailable"]


class DemandEntry(BaseModel):
    """What one pullable material needs (a grant for its items and purpose), and if it has one."""

    material: str
    name: str
    resource: str
    resource_name: str | None
    provider: str | None
    share_type: str | None
    items: list[str]
    purpose: str
    status: DemandStatus
    grant_id: int | None = Field(description="the covering grant, or the pending request")
    detail: str


class DemandList(BaseModel):
    """The data-demand list (数据需求清单) of a one-thing for one consumer department."""

    one_thing: str
    consumer: str
    entries: list[DemandEntry]
    summary: dict[str, int]


class PlannedRequest(BaseModel):
    """One request the planner files (or, in a dry run, would file)."""

    resource: str
    resource_name: str
    provider: str
    share_type: str
    purpose: str
    items: list[str]
    materials: list[str]
    starts_on: date
    ends_on: date
    need: str
    expected: Literal["approved", "pending"] = Field(
        description="approved at once by rule (无条件共享) or pending with the provider"
    )
    grant: GrantRead | None = Field(description="the filed request; null in a dry run")


class DemandFiling(BaseModel):
    """What the planner filed for a one-thing's missing grants (nothing, in a dry run)."""

    one_thing: str
    consumer: str
    dry_run: bool
    requests: list[PlannedRequest]
    skipped: list[DemandEntry] = Field(
        description="materials no request can serve (不予共享, not in the catalogue, ...)"
    )
