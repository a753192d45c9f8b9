"""Request and response shapes of connector bindings (资源挂接: resource → department source)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"

# OpenAPI examples: 居民身份证信息 bound to 浙江省公安厅's table jmsfz (居民身份证).
_WRITE: JsonDict = {
    "adapter": "sql",
    "config": {
        "url": "postgresql+psycopg://datarun_reader:change-me@10.33.1.21:5432/gat_rk",
        "table": "jmsfz",
        "pool_size": 4,
        "timeout_seconds": 2.0,
    },
    "key_item": "id_number",
    "columns": {
        "id_number": "gmsfhm",
        "name": "xm",
        "address": "zz",
        "valid_until": "yxqjzrq",
    },
    "resilience": {"deadline_seconds": 1.5, "retries": 1, "max_concurrency": 4},
    "enabled": True,
}
_CHECK: JsonDict = {
    "at": "2026-11-27T09:25:00Z",
    "ok": True,
    "latency_ms": 1.48,
    "detail": "ok",
}


def _source_name(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


SourceName = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_source_name)]
ItemCode = Annotated[str, Field(pattern=ITEM_CODE)]


class Schema(BaseModel):
    """Base of every binding shape: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class BindingWrite(Schema):
    """Create or replace a resource's binding (PUT body)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WRITE]})

    adapter: str = Field(min_length=1, max_length=64, examples=["sql"])
    config: dict[str, Any] = Field(
        description="the adapter's config; secrets in clear here, shown back as '**********' "
        "(send '**********' back to keep a stored secret)",
        examples=[{"url": "postgresql+psycopg://reader:password@db.gat:5432/hjxx", "table": "rk"}],
    )
    key_item: ItemCode = Field(
        description="the catalogue item looked up by", examples=["id_number"]
    )
    columns: dict[ItemCode, SourceName] = Field(
        min_length=1,
        max_length=500,
        description="catalogue item code → source column (or field)",
        examples=[{"id_number": "sfzh", "name": "xm"}],
    )
    resilience: dict[str, Any] = Field(
        default_factory=dict,
        description="overrides of the deadline, retries, circuit breaker and concurrency limit",
    )
    enabled: bool = True


class BindingFile(BindingWrite):
    """One binding in a file for ``datarun bindings set`` (the PUT body plus the resource)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"resource": "301001002/000002", **_WRITE}]}
    )

    resource: str = Field(description="资源代码, e.g. 301001001/000001")


class CheckRead(Schema):
    """One health check of a binding's source."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CHECK]})

    at: datetime
    ok: bool
    latency_ms: float
    detail: str | None


class BindingRead(Schema):
    """A binding as the API shows it: secrets masked, last health check attached."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resource_code": "301001002/000002",
                    "resource_name": "居民身份证信息",
                    "provider": "zj-gat",
                    **_WRITE,
                    "config": {**_WRITE["config"], "url": "**********"},  # type: ignore[dict-item]
                    "created_at": "2026-06-30T01:00:00Z",
                    "updated_at": "2026-11-27T09:00:00Z",
                    "last_check": _CHECK,
                }
            ]
        }
    )

    resource_code: str
    resource_name: str
    provider: str
    adapter: str
    config: dict[str, Any]
    key_item: str
    columns: dict[str, str]
    resilience: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    last_check: CheckRead | None = None


class SourceColumnRead(Schema):
    """A column (or field) the source offers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "gmsfhm", "type": "VARCHAR(18)", "nullable": False}]
        }
    )

    name: str
    type: str
    nullable: bool
