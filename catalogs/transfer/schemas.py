"""Shapes of catalogue import and export (目录导入导出)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FileFormat = Literal["csv", "json"]
ImportMode = Literal["upsert", "create-only"]
Action = Literal["created", "updated", "unchanged"]


class ImportSummary(BaseModel):
    """What an import did (or, for a dry run, would do)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dry_run": False,
                    "created": 1,
                    "updated": 1,
                    "unchanged": 0,
                    "resources": ["301001002/000002", "303001001/000001"],
                    "actions": {"301001002/000002": "updated", "303001001/000001": "created"},
                }
            ]
        }
    )

    dry_run: bool = Field(description="true: validated and planned only, nothing written")
    created: int
    updated: int
    unchanged: int
    resources: list[str] = Field(
        description="资源代码 of every resource in the file, in file order"
    )
    actions: dict[str, Action] = Field(description="what happened to each resource, by code")
