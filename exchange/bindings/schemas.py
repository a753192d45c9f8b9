"""Request and response shapes of connector bindings (资源挂接: resource → department source)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ITEM_CODE = r"^[a-z][a-z0-9_]{0,63}$"


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

    resource: str = Field(description="资源代码, e.g. 301001001/000001")


class CheckRead(Schema):
    """One health check of a binding's source."""

    at: datetime
    ok: bool
    latency_ms: float
    detail: str | None


class BindingRead(Schema):
    """A binding as the API shows it: secrets masked, last health check attached."""

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

    name: str
    type: str
    nullable: bool
