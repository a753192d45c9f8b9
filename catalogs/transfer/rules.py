"""Pure import rules: lifecycle paths and mapping service error fields back to locations."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from catalogs.resources.rules import LIFECYCLE

_PART = re.compile(r"[^.\[\]]+")


def status_path(old: str, new: str) -> list[str] | None:
    """Return the lifecycle moves that take an entry from ``old`` to ``new`` (None if none do)."""
    if old == new:
        return []
    queue: deque[list[str]] = deque([[old]])
    while queue:
        path = queue.popleft()
        for step in sorted(LIFECYCLE.get(path[-1], frozenset())):
            if step == new:
                return [*path[1:], step]
            if step not in path:
                queue.append([*path, step])
    return None


def field_loc(field: str) -> tuple[Any, ...]:
    """Turn a service error field such as ``items[2].data_type`` into a pydantic-style loc."""
    return tuple(int(p) if p.isdigit() else p for p in _PART.findall(field or ""))


def clean_message(message: str) -> str:
    """Drop pydantic's "Value error, " prefix: the field already says where."""
    return message.removeprefix("Value error, ")


CSV_MEDIA_TYPES = frozenset(
    # Windows browsers label .csv uploads as Excel files.
    {"text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"}
)
JSON_MEDIA_TYPES = frozenset({"application/json", "text/json"})


def detect_format(
    *, explicit: str | None, filename: str | None, media_type: str | None
) -> str | None:
    """Return csv or json: as asked, else by file extension, else by media type, else None."""
    if explicit:
        return explicit
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if suffix in ("csv", "json"):
        return suffix
    base = (media_type or "").split(";", 1)[0].strip().lower()
    if base in CSV_MEDIA_TYPES:
        return "csv"
    if base in JSON_MEDIA_TYPES or base.endswith("+json"):
        return "json"
    return None
