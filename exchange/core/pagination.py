"""Pagination parameters, the page envelope every list endpoint returns, and a page's query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict
from sqlalchemy import ColumnExpressionArgument, Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


class PageParams(BaseModel):
    """Which slice of a result list the caller asked for."""

    page: int
    size: int

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.page - 1) * self.size


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=200, description="items per page")] = 20,
) -> PageParams:
    """Read ``page`` and ``size`` from the query string."""
    return PageParams(page=page, size=size)


def _page_examples(schema: JsonDict, model: type[Any]) -> None:
    """Give ``Page[X]`` an example: a page holding X's first example (if X has one)."""
    args = getattr(model, "__pydantic_generic_metadata__", {}).get("args", ())
    item = args[0] if args else None
    extra = getattr(item, "model_config", {}).get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if isinstance(examples, list) and examples:
        schema["examples"] = [{"items": examples[:1], "total": 1, "page": 1, "size": 20}]


class Page(BaseModel, Generic[T]):
    """One page of results with the total count across all pages."""

    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T]
    total: int
    page: int
    size: int


Pagination = Annotated[PageParams, Depends(page_params)]


def page_of(
    session: Session,
    query: Select[T],
    *,
    order: Sequence[ColumnExpressionArgument[Any]],
    offset: int,
    limit: int,
) -> tuple[Sequence[T], int]:
    """Return up to ``limit`` rows of ``query`` in ``order`` from ``offset``, and the total."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order).offset(offset).limit(limit)).all()
    return rows, total
