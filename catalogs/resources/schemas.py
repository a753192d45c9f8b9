"""Request and response shapes of catalogue entries (政务信息资源): the Resource JSON form."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic_core import InitErrorDetails, PydanticCustomError

from catalogs.resources import rules

Format = Literal[
    "electronic_file",  # 电子文件
    "spreadsheet",  # 电子表格
    "database",  # 数据库
    "image",  # 图形图像
    "streaming",  # 流媒体
    "self_describing",  # 自描述格式
    "service_interface",  # 服务接口
]
DataType = Literal["C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F"]
Sensitivity = Literal[1, 2, 3, 4]  # 1 公开 2 内部 3 敏感 4 高度敏感
ShareType = Literal["unconditional", "conditional", "none"]  # 无条件 / 有条件 / 不予共享
ShareMethod = Literal["api", "file", "database"]
OpenType = Literal["open", "conditional", "closed"]
UpdateCycle = Literal["realtime", "daily", "weekly", "monthly", "quarterly", "yearly"]
Status = Literal["draft", "published", "deprecated", "retired"]

_NOT_NULL = (
    "name",
    "provider",
    "summary",
    "format",
    "items",
    "share_type",
    "share_method",
    "open_type",
    "update_cycle",
    "related_codes",
)


# OpenAPI examples: 居民身份证信息 of 浙江省公安厅, as the demo province catalogues it.
_ID_CARD_ITEMS: list[JsonDict] = [
    {
        "code": "id_number",
        "name": "公民身份号码",
        "data_type": "C",
        "sensitivity": 3,
        "is_key": True,
        "description": None,
    },
    {
        "code": "name",
        "name": "姓名",
        "data_type": "C",
        "sensitivity": 2,
        "is_key": False,
        "description": None,
    },
    {
        "code": "valid_until",
        "name": "有效期截止日期",
        "data_type": "D",
        "sensitivity": 2,
        "is_key": False,
        "description": "长期有效的为空",
    },
]
_ID_CARD: JsonDict = {
    "code": "301001002/000002",
    "name": "居民身份证信息",
    "provider": "zj-gat",
    "summary": "居民身份证登记项目及有效期，用于办事人身份核验和证照免提交。",
    "format": "service_interface",
    "items": list(_ID_CARD_ITEMS),
    "share_type": "conditional",
    "share_condition": "仅限办事人身份核验；证件照片须单独申请并说明比对场景",
    "share_method": "api",
    "legal_basis": "《中华人民共和国居民身份证法》第六条；"
    "《中华人民共和国个人信息保护法》第三十四条",
    "open_type": "closed",
    "update_cycle": "realtime",
    "published_on": "2025-06-30",
    "related_codes": ["301001001/000001"],
}
RESOURCE_EXAMPLE: JsonDict = {
    **_ID_CARD,
    "status": "published",
    "version": "1.1",
    "category_code": "301001002",
    "provider_name": "浙江省公安厅",
    "created_at": "2026-06-30T01:00:00Z",
    "updated_at": "2026-11-27T09:30:00Z",
}

_LocatedError = tuple[tuple[int | str, ...], str, Any]  # (location, message, input)


class Schema(BaseModel):
    """Base of every catalogue request shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def _located(title: str, errors: Sequence[_LocatedError]) -> ValidationError:
    """Build a ValidationError whose entries point at nested locations (e.g. items[2].code)."""
    details = [
        InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)
        for loc, message, value in errors
    ]
    return ValidationError.from_exception_data(title, details)


def _check_items(items: list[ItemIn]) -> list[ItemIn]:
    seen: dict[str, int] = {}
    duplicates = []
    for i, item in enumerate(items):
        if item.code in seen:
            message = f"duplicate item code {item.code!r} (also items[{seen[item.code]}].code)"
            duplicates.append(((i, "code"), message, item.code))
        seen.setdefault(item.code, i)
    if duplicates:
        raise _located("items", duplicates)
    return items


def _check_related(codes: list[str]) -> list[str]:
    bad = [((i,), rules.validate_code(c) or "", c) for i, c in enumerate(codes)]
    bad = [b for b in bad if b[1]]
    if bad:
        raise _located("related_codes", bad)
    return codes


class ItemIn(Schema):
    """A data item (信息项) of a resource."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ID_CARD_ITEMS[0]]})

    code: str = Field(pattern=rules.ITEM_CODE_RE.pattern, description="item code, e.g. id_number")
    name: str = Field(min_length=1, max_length=200, description="item name, e.g. 公民身份号码")
    data_type: DataType = Field(description="data type code of the guide (C 字符 N 数值 ...)")
    sensitivity: Sensitivity = Field(default=1, description="1 公开 2 内部 3 敏感 4 高度敏感")
    is_key: bool = Field(default=False, description="whether records are looked up by this item")
    description: str | None = None


class ResourceCreate(Schema):
    """A new catalogue entry in the Resource JSON form."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ID_CARD]})

    code: str = Field(description="资源代码 {分类码}/{顺序码}, e.g. 301001001/000001")
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=64, description="provider department code")
    summary: str = Field(default="", max_length=10_000)
    format: Format
    items: list[ItemIn] = Field(min_length=1, max_length=1000)
    share_type: ShareType
    share_condition: str | None = Field(default=None, validate_default=True)
    share_method: ShareMethod
    legal_basis: str | None = Field(default=None, validate_default=True)
    open_type: OpenType
    update_cycle: UpdateCycle
    published_on: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        problem = rules.validate_code(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("items")
    @classmethod
    def _items(cls, value: list[ItemIn]) -> list[ItemIn]:
        return _check_items(value)

    @field_validator("related_codes")
    @classmethod
    def _related(cls, value: list[str]) -> list[str]:
        return _check_related(value)

    # Fields validate in declaration order, so share_type is known when these run.
    @field_validator("share_condition", "legal_basis")
    @classmethod
    def _share(cls, value: str | None, info: ValidationInfo) -> str | None:
        share_type = info.data.get("share_type")
        if share_type is None:
            return value  # share_type itself failed and is reported
        field = info.field_name
        condition = value if field == "share_condition" else info.data.get("share_condition")
        basis = value if field == "legal_basis" else None
        for problem in rules.share_problems(share_type, condition, basis):
            if problem["field"] == field:
                raise ValueError(problem["message"])
        return value


class ResourceUpdate(Schema):
    """Changes to a catalogue entry: only the fields given change; ``items`` replaces the list.

    The 资源代码 cannot change (a new code is a new entry).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "summary": "居民身份证登记项目及有效期，"
                    "用于办事人身份核验、证照免提交和人证比对。",
                    "update_cycle": "realtime",
                    "related_codes": ["301001001/000001"],
                }
            ]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    summary: str | None = Field(default=None, max_length=10_000)
    format: Format | None = None
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=1000)
    share_type: ShareType | None = None
    share_condition: str | None = None
    share_method: ShareMethod | None = None
    legal_basis: str | None = None
    open_type: OpenType | None = None
    update_cycle: UpdateCycle | None = None
    published_on: date | None = None
    related_codes: list[str] | None = Field(default=None, max_length=200)

    @field_validator(*_NOT_NULL)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for values actually given: an explicit null on a required field.
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value

    @field_validator("items")
    @classmethod
    def _items(cls, value: list[ItemIn]) -> list[ItemIn]:
        return _check_items(value)

    @field_validator("related_codes")
    @classmethod
    def _related(cls, value: list[str]) -> list[str]:
        return _check_related(value)


class ItemRead(BaseModel):
    """A data item as the API returns it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ID_CARD_ITEMS[0]]})

    code: str
    name: str
    data_type: str
    sensitivity: int
    is_key: bool
    description: str | None


class ResourceRead(BaseModel):
    """A catalogue entry as the API returns it: the Resource JSON form plus its state."""

    model_config = ConfigDict(json_schema_extra={"examples": [RESOURCE_EXAMPLE]})

    code: str
    name: str
    provider: str
    summary: str
    format: str
    items: list[ItemRead]
    share_type: str
    share_condition: str | None
    share_method: str
    legal_basis: str | None
    open_type: str
    update_cycle: str
    published_on: date | None
    related_codes: list[str]
    status: str
    version: str
    category_code: str
    provider_name: str
    created_at: datetime
    updated_at: datetime


class VersionRead(BaseModel):
    """One entry of a resource's version history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "1.1",
                    "change_kind": "minor",
                    "changes": [
                        {
                            "op": "add_item",
                            "field": "items.valid_until",
                            "from": None,
                            "to": _ID_CARD_ITEMS[2],
                            "item": "valid_until",
                        },
                    ],
                    "actor": "user:gat-admin",
                    "created_at": "2026-11-27T09:30:00Z",
                }
            ]
        }
    )

    version: str
    change_kind: str = Field(description="created | major | minor | status")
    changes: list[dict[str, Any]]
    actor: str
    created_at: datetime


class StatusChange(Schema):
    """A lifecycle move: draft → published → deprecated → retired (deprecated may be reinstated)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "deprecated",
                    "reason": "由 301001002/000003 居民身份证信息（含电子证照）替代",
                }
            ]
        }
    )

    status: Status
    reason: str | None = Field(default=None, max_length=2000)
