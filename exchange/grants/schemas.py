"""API shapes of grants (共享权限), their history, the permission views and the demand list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{1,63}$"
ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"
PURPOSE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Status = Literal["pending", "approved", "refused", "revoked", "expired", "lapsed"]
Role = Literal["consumer", "provider"]
ItemCode = Annotated[str, StringConstraints(pattern=ITEM_CODE)]
PurposeCode = Annotated[str, StringConstraints(pattern=PURPOSE_CODE)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]

# OpenAPI examples: 自然资源厅 reads 居民身份证信息 of 浙江省公安厅 for 二手房转移登记.
_NEED = "二手房交易过户一件事：核验买卖双方身份（材料：卖方身份证明、买方身份证明）"
_REQUEST: JsonDict = {
    "consumer": "zj-zrzyt",
    "consumer_system": None,
    "resource": "301001002/000002",
    "items": ["id_number", "name", "address", "valid_until"],
    "purposes": ["330000-ZR-001"],
    "starts_on": "2026-11-28",
    "ends_on": "2027-11-27",
    "masked": False,
    "need": _NEED,
}
_GRANT: JsonDict = {
    "id": 1,
    **_REQUEST,
    "consumer_name": "浙江省自然资源厅",
    "resource_name": "居民身份证信息",
    "provider": "zj-gat",
    "share_type": "conditional",
    "status": "approved",
    "in_force": True,
    "requested_by": "user:zrzyt-admin",
    "requested_at": "2026-11-20T02:15:00Z",
    "due_on": "2026-12-04",
    "overdue": False,
    "working_days_overdue": None,
    "escalated_at": None,
    "decided_by": "user:gat-admin",
    "decided_at": "2026-11-24T06:40:00Z",
    "decision_reason": "符合共享条件：仅限办事人身份核验",
    "certified_on": "2026-11-24",
    "recertify_by": "2027-11-24",
    "ended_at": None,
    "row_version": 2,
}
_EVENTS: list[JsonDict] = [
    {
        "at": "2026-11-20T02:15:00Z",
        "actor": "user:zrzyt-admin",
        "action": "requested",
        "reason": _NEED,
        "detail": {
            "consumer": "zj-zrzyt",
            "consumer_system": None,
            "items": ["id_number", "name", "address", "valid_until"],
            "purposes": ["330000-ZR-001"],
            "masked": False,
            "starts_on": "2026-11-28",
            "ends_on": "2027-11-27",
        },
    },
    {
        "at": "2026-11-24T06:40:00Z",
        "actor": "user:gat-admin",
        "action": "approved",
        "reason": "符合共享条件：仅限办事人身份核验",
        "detail": {"items": ["id_number", "name", "address", "valid_until"]},
    },
]
_PERMISSION: JsonDict = {
    "grant_id": 1,
    "items": ["id_number", "name", "address", "valid_until"],
    "purposes": ["330000-ZR-001"],
    "masked": False,
    "starts_on": "2026-11-28",
    "ends_on": "2027-11-27",
    "recertify_by": "2027-11-24",
    "in_force": True,
}
_COVERED: JsonDict = {
    "material": "seller_id",
    "name": "卖方身份证明",
    "resource": "301001002/000002",
    "resource_name": "居民身份证信息",
    "provider": "zj-gat",
    "share_type": "conditional",
    "items": ["id_number", "name", "address", "valid_until"],
    "purpose": "330000-ZR-001",
    "status": "covered",
    "grant_id": 1,
    "detail": "grant 1 covers it until 2027-11-27",
}
_NOT_SHAREABLE: JsonDict = {
    "material": "buyer_tax_record",
    "name": "购房人个人所得税纳税证明",
    "resource": "304002001/000003",
    "resource_name": "个人所得税纳税记录",
    "provider": "zj-tax",
    "share_type": "none",
    "items": ["id_number", "name", "tax_period", "tax_paid"],
    "purpose": "330000-ZJ-001",
    "status": "not_shareable",
    "grant_id": None,
    "detail": "不予共享（not shared）；legal basis: 《中华人民共和国税收征收管理法》第八条",
}


class Schema(BaseModel):
    """Base of every grant request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class GrantCreate(Schema):
    """A grant request: read named items of one resource, for named purposes, for a period."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REQUEST]})

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": ["id_number", "name", "valid_until"],
                    "ends_on": "2027-06-30",
                    "reason": "住址不属于身份核验所需，予以剔除",
                }
            ]
        }
    )

    items: list[ItemCode] | None = Field(default=None, description="a subset of those requested")
    starts_on: date | None = None
    ends_on: date | None = None
    reason: Reason | None = None


class Refusal(Schema):
    """Refuse a pending request; the reason is required."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "证件照片不属于该事项必需信息，请仅申请身份核验所需信息项"}]
        }
    )

    reason: Reason


class Revocation(Schema):
    """Revoke an approved grant; the reason is required."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "该事项已调整为由不动产登记中心直接核验，不再需要"}]
        }
    )

    reason: Reason


class Recertification(Schema):
    """Re-certify (复核) an approved grant for another year."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "年度复核：仍用于二手房转移登记身份核验"}]}
    )

    reason: Reason | None = None


class GrantEventRead(BaseModel):
    """One change of a grant, or one refused attempt at it: who, when, what and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENTS[1]]})

    at: datetime
    actor: str
    action: str
    reason: str | None
    detail: dict[str, Any]


class GrantRead(BaseModel):
    """A grant as the hub holds it; ``status`` is its status today (expiry and lapse by date)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_GRANT]})

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

    model_config = ConfigDict(json_schema_extra={"examples": [{**_GRANT, "events": list(_EVENTS)}]})

    events: list[GrantEventRead]


class ResourcePermission(BaseModel):
    """One consumer that may read a resource: which items, for what, until when."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_PERMISSION,
                    "consumer": "zj-zrzyt",
                    "consumer_name": "浙江省自然资源厅",
                    "consumer_system": None,
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resource": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "provider": "zj-gat",
                    "share_type": "conditional",
                    "grants": [
                        {
                            **_PERMISSION,
                            "consumer": "zj-zrzyt",
                            "consumer_name": "浙江省自然资源厅",
                            "consumer_system": None,
                        }
                    ],
                    "total": 1,
                    "page": 1,
                    "size": 20,
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_PERMISSION,
                    "resource": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "provider": "zj-gat",
                    "inherited": True,
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": "zj-zrzyt-window",
                    "department": "zj-zrzyt",
                    "grants": [
                        {
                            **_PERMISSION,
                            "resource": "301001002/000002",
                            "resource_name": "居民身份证信息",
                            "provider": "zj-gat",
                            "inherited": True,
                        }
                    ],
                    "total": 1,
                    "page": 1,
                    "size": 20,
                }
            ]
        }
    )

    client_id: str
    department: str
    grants: list[SystemPermission]
    total: int
    page: int
    size: int


DemandStatus = Literal["covered", "pending", "missing", "not_shareable", "unavailable"]


class DemandEntry(BaseModel):
    """What one pullable material needs (a grant for its items and purpose), and if it has one."""

    model_config = ConfigDict(json_schema_extra={"examples": [_COVERED, _NOT_SHAREABLE]})

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "one_thing": "esf-transfer",
                    "consumer": "zj-zrzyt",
                    "entries": [_COVERED, _NOT_SHAREABLE],
                    "summary": {"covered": 1, "not_shareable": 1},
                }
            ]
        }
    )

    one_thing: str
    consumer: str
    entries: list[DemandEntry]
    summary: dict[str, int]


class PlannedRequest(BaseModel):
    """One request the planner files (or, in a dry run, would file)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resource": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "provider": "zj-gat",
                    "share_type": "conditional",
                    "purpose": "330000-ZR-001",
                    "items": ["id_number", "name", "address", "valid_until"],
                    "materials": ["seller_id", "buyer_id"],
                    "starts_on": "2026-11-28",
                    "ends_on": "2027-11-27",
                    "need": "为办理「二手房交易过户」一件事申请"
                    "（材料：卖方身份证明、买方身份证明）",
                    "expected": "pending",
                    "grant": None,
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "one_thing": "esf-transfer",
                    "consumer": "zj-zrzyt",
                    "dry_run": True,
                    "requests": [
                        {
                            "resource": "301001002/000002",
                            "resource_name": "居民身份证信息",
                            "provider": "zj-gat",
                            "share_type": "conditional",
                            "purpose": "330000-ZR-001",
                            "items": ["id_number", "name", "address", "valid_until"],
                            "materials": ["seller_id", "buyer_id"],
                            "starts_on": "2026-11-28",
                            "ends_on": "2027-11-27",
                            "need": "为办理「二手房交易过户」一件事申请"
                            "（材料：卖方身份证明、买方身份证明）",
                            "expected": "pending",
                            "grant": None,
                        }
                    ],
                    "skipped": [_NOT_SHAREABLE],
                }
            ]
        }
    )

    one_thing: str
    consumer: str
    dry_run: bool
    requests: list[PlannedRequest]
    skipped: list[DemandEntry] = Field(
        description="materials no request can serve (不予共享, not in the catalogue, ...)"
    )
