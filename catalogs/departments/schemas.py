"""Request and response shapes of departments (政务部门)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalogs.identifiers import uscc_problem

DEPARTMENT_CODE_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
Level = Literal["province", "city", "county"]


class DepartmentCreate(BaseModel):
    """A new department in the Department JSON form."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "zj-gat",
                    "name": "浙江省公安厅",
                    "level": "province",
                    "parent": None,
                    "uscc": "113300000024820150",
                }
            ]
        },
    )

    code: str = Field(pattern=DEPARTMENT_CODE_PATTERN, description="stable code, e.g. zj-gat")
    name: str = Field(min_length=1, max_length=200, description="name, e.g. 浙江省公安厅")
    level: Level
    parent: str | None = Field(default=None, description="parent department code")
    uscc: str | None = Field(default=None, description="统一社会信用代码 (GB 32100)")

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        if value is not None:
            problem = uscc_problem(value)
            if problem:
                raise ValueError(problem)
        return value


class DepartmentRead(BaseModel):
    """A department as the API returns it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "zj-gat",
                    "name": "浙江省公安厅",
                    "level": "province",
                    "parent": None,
                    "uscc": "113300000024820150",
                    "created_at": "2026-11-27T09:30:00Z",
                }
            ]
        }
    )

    code: str
    name: str
    level: str
    parent: str | None
    uscc: str | None
    created_at: datetime
