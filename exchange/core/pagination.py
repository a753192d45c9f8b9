"""Pagination parameters and the page envelope every list endpoint returns."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

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


class Page(BaseModel, Generic[T]):
    """One page of results with the total count across all pages."""

    items: list[T]
    total: int
    page: int
    size: int


Pagination = Annotated[PageParams, Depends(page_params)]
