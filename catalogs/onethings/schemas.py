"""API shapes of service items (办事事项), one-things (一件事), materials, elimination report.

Field formats are checked here; rules that span fields or rows (a pullable material needs a
resource, material codes are unique, referenced service items exist) are checked by
``rules.material_problems`` and the service, so every error names its exact field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

SERVICE_ITEM_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ONE_THING_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9._-]{1,63}$"
MATERIAL_CODE = r"^[a-z][a-z0-9_]{0,63}$"
ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"
KEY_IDENTIFIER = r"^[a-z][a-z0-9_]{1,31}$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=4000)]
ServiceItemCode = Annotated[str, StringConstraints(pattern=SERVICE_ITEM_CODE)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_CODE)]
ItemCode = Annotated[str, StringConstraints(pattern=ITEM_CODE)]
MaterialKind = Literal["pullable", "submitted"]
Outcome = Literal["pulled", "demanded"]
Reason = Literal[
    "submitted_by_nature",
    "no_catalogue_resource",
    "resource_not_published",
    "not_shareable",
    "unknown_items",
    "no_connector",
    "no_grant",
]

# OpenAPI examples: 二手房交易过户一件事 (esf-transfer) of the demo province.
_SERVICE_ITEM: JsonDict = {
    "code": "330000-ZR-001",
    "name": "国有建设用地使用权及房屋所有权转移登记",
    "department": "zj-zrzyt",
    "description": "即二手房不动产转移登记",
}
_SELLER_ID: JsonDict = {
    "code": "seller_id",
    "name": "卖方身份证明",
    "kind": "pullable",
    "service_item": "330000-ZR-001",
    "resource_code": "301001002/000002",
    "items": ["id_number", "name", "address", "valid_until"],
    "key_identifier": "resident_id",
    "minor": False,
    "commitment_allowed": False,
    "description": None,
}
_STATEMENT: JsonDict = {
    "code": "family_members_statement",
    "name": "购房家庭成员情况说明",
    "kind": "submitted",
    "service_item": "330000-ZJ-001",
    "resource_code": None,
    "items": [],
    "key_identifier": None,
    "minor": False,
    "commitment_allowed": True,
    "description": "可以书面承诺代替，承诺不实的按失信处理",
}
_ONE_THING: JsonDict = {
    "name": "二手房交易过户一件事",
    "description": "存量房买卖合同网签备案、契税申报和不动产转移登记三部门并联办理，"
    "一窗受理、一次办结。",
    "service_items": ["330000-ZJ-001", "330000-SW-001", "330000-ZR-001"],
    "materials": [_SELLER_ID, _STATEMENT],
}
_PULLED: JsonDict = {
    "material": "seller_id",
    "name": "卖方身份证明",
    "kind": "pullable",
    "service_item": "330000-ZR-001",
    "resource_code": "301001002/000002",
    "resource_name": "居民身份证信息",
    "provider": "zj-gat",
    "items": ["id_number", "name", "address", "valid_until"],
    "key_identifier": "resident_id",
    "outcome": "pulled",
    "reason": None,
    "detail": "pulled from resource 301001002/000002 (居民身份证信息, provided by zj-gat), "
    "有条件共享, looked up by resident_id",
    "missing_items": [],
    "minor": False,
    "commitment_allowed": False,
}
_DEMANDED: JsonDict = {
    "material": "family_members_statement",
    "name": "购房家庭成员情况说明",
    "kind": "submitted",
    "service_item": "330000-ZJ-001",
    "resource_code": None,
    "resource_name": None,
    "provider": None,
    "items": [],
    "key_identifier": None,
    "outcome": "demanded",
    "reason": "submitted_by_nature",
    "detail": "submitted by the applicant: not a catalogue datum",
    "missing_items": [],
    "minor": False,
    "commitment_allowed": True,
}
_SUMMARY: JsonDict = {
    "total": 15,
    "pulled": 9,
    "demanded": 6,
    "demanded_minor": 0,
    "demanded_commitment": 1,
    "by_reason": {"no_catalogue_resource": 1, "not_shareable": 1, "submitted_by_nature": 4},
}


class Schema(BaseModel):
    """Base of every API shape here: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class ServiceItemCreate(Schema):
    """A service item (办事事项) handled by one department."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SERVICE_ITEM]})

    code: ServiceItemCode = Field(examples=["330000-GA-001"])
    name: Name
    department: DepartmentCode = Field(description="the handling department's code")
    description: Description | None = None


class ServiceItemRead(ServiceItemCreate):
    """A service item as the catalogue holds it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SERVICE_ITEM,
                    "department_name": "浙江省自然资源厅",
                    "created_at": "2026-06-30T01:00:00Z",
                }
            ]
        }
    )

    department_name: str
    created_at: datetime


class MaterialIn(Schema):
    """A material (申请材料): pulled from a catalogue resource, or submitted by the applicant."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SELLER_ID, _STATEMENT]})

    code: Annotated[str, StringConstraints(pattern=MATERIAL_CODE)] = Field(examples=["seller_id"])
    name: Name
    kind: MaterialKind
    service_item: ServiceItemCode | None = Field(
        default=None, description="the service item of this one-thing that needs it"
    )
    resource_code: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="资源代码 of the resource it is pulled from (pullable only)"
    )
    items: list[ItemCode] = Field(
        default_factory=list, max_length=200, description="信息项 codes needed (pullable only)"
    )
    key_identifier: Annotated[str, StringConstraints(pattern=KEY_IDENTIFIER)] | None = Field(
        default=None,
        description="which applicant identifier is the lookup key, e.g. resident_id or uscc",
    )
    minor: bool = Field(default=False, description="容缺: the case is accepted while it is missing")
    commitment_allowed: bool = Field(
        default=False, description="承诺: a written commitment may replace it"
    )
    description: Description | None = None


class MaterialRead(MaterialIn):
    """A material as the catalogue holds it."""


class OneThingUpdate(Schema):
    """Replace a one-thing's name, description, service items and materials."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ONE_THING]})

    name: Name
    description: Description | None = None
    service_items: list[ServiceItemCode] = Field(default_factory=list, max_length=100)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=500)


class OneThingCreate(OneThingUpdate):
    """A one-thing (一件事): what the citizen sees as one matter, across departments."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "esf-transfer", "lead_department": "zj-zrzyt", **_ONE_THING}]
        }
    )

    code: Annotated[str, StringConstraints(pattern=ONE_THING_CODE)] = Field(
        examples=["esf-transfer"]
    )
    lead_department: DepartmentCode


class OneThingRead(Schema):
    """A one-thing with its service items and materials."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "esf-transfer",
                    **_ONE_THING,
                    "lead_department": "zj-zrzyt",
                    "lead_department_name": "浙江省自然资源厅",
                    "created_at": "2026-06-30T01:00:00Z",
                    "updated_at": "2026-11-27T09:30:00Z",
                }
            ]
        }
    )

    code: str
    name: str
    description: str | None
    lead_department: str
    lead_department_name: str
    service_items: list[str]
    materials: list[MaterialRead]
    created_at: datetime
    updated_at: datetime


class EliminationEntry(Schema):
    """What happens to one material: the hub pulls it, or the applicant must still bring it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PULLED, _DEMANDED]})

    material: str
    name: str
    kind: MaterialKind
    service_item: str | None
    resource_code: str | None
    resource_name: str | None = None
    provider: str | None = None
    items: list[str]
    key_identifier: str | None
    outcome: Outcome
    reason: Reason | None = Field(description="why it is still demanded; null when pulled")
    detail: str
    missing_items: list[str] = Field(default_factory=list)
    minor: bool = Field(description="容缺: the window may accept the case without it")
    commitment_allowed: bool = Field(description="承诺: a written commitment may replace it")


class EliminationSummary(Schema):
    """Counts over a report's entries."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY]})

    total: int
    pulled: int
    demanded: int
    demanded_minor: int = Field(description="demanded materials that are 容缺-eligible")
    demanded_commitment: int = Field(description="demanded materials a 承诺 may replace")
    by_reason: dict[str, int]


class EliminationReport(Schema):
    """材料免提交: which materials the hub pulls and which are still demanded, and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "one_thing": "esf-transfer",
                    "consumer": "zj-zrzyt",
                    "entries": [_PULLED, _DEMANDED],
                    "summary": {
                        "total": 2,
                        "pulled": 1,
                        "demanded": 1,
                        "demanded_minor": 0,
                        "demanded_commitment": 1,
                        "by_reason": {"submitted_by_nature": 1},
                    },
                    "elimination_rate": 0.5,
                }
            ]
        }
    )

    one_thing: str
    consumer: str
    entries: list[EliminationEntry]
    summary: EliminationSummary
    elimination_rate: float | None = Field(
        description="pulled / total, rounded to 4 places; null for a one-thing with no materials"
    )
