"""Form posts to service inputs and back: values, field errors and their messages.

A form is checked by the same pydantic shapes and services as the API; their errors come
back as ``{"field": ..., "message": ...}`` and are shown beside the field they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from exchange.console.i18n import Translator
from exchange.console.rules import field_path
from exchange.core.errors import DomainError

MAX_ITEM_ROWS = 300
_ITEM_FIELDS = ("code", "name", "data_type", "sensitivity", "description")
_ITEM_ERROR = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")
# Pydantic error types with a message of the console's own, in the viewer's language.
_MESSAGES = {
    "missing": "form.required",
    "string_too_short": "form.required",
    "too_short": "form.at_least_one",
    "literal_error": "form.choose",
    "enum": "form.choose",
    "date_parsing": "form.date",
    "date_from_datetime_parsing": "form.date",
    "date_type": "form.date",
    "int_parsing": "form.number",
    "string_pattern_mismatch": "form.pattern",
    "string_too_long": "form.too_long",
}


def text(form: Mapping[str, Any], name: str, limit: int = 20_000) -> str:
    """Return a form field as stripped text ('' when absent), cut at ``limit``."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def optional(form: Mapping[str, Any], name: str) -> str | None:
    """Return a form field, or None when it is empty."""
    return text(form, name) or None


def words(form: Mapping[str, Any], name: str) -> list[str]:
    """Return a field split on commas, semicolons and whitespace (e.g. related codes)."""
    return [w for w in re.split(r"[\s,;，；、]+", text(form, name)) if w]


def validation_errors(exc: ValidationError, t: Translator) -> list[dict[str, str]]:
    """Return pydantic's errors as field errors, in the viewer's language where known."""
    errors = []
    for e in exc.errors():
        key = _MESSAGES.get(e["type"])
        message = t(key) if key else e["msg"].removeprefix("Value error, ")
        errors.append({"field": field_path(e["loc"]), "message": message})
    return errors


def refusal_problems(exc: Exception, t: Translator) -> list[dict[str, Any]]:
    """Return why a form's service call refused it: pydantic's errors, the domain error's
    own per-field errors, or its detail as an error of the whole form."""
    if isinstance(exc, ValidationError):
        return list(validation_errors(exc, t))
    errors = getattr(exc, "errors", None)
    if isinstance(exc, DomainError) and errors:
        return list(errors)
    return [{"field": "form", "message": t.refusal(exc)}]


@dataclass
class ItemRows:
    """The data-item rows of a catalogue form: non-blank rows, and where each came from."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # form row of each kept item
    shown: list[dict[str, Any]] = field(default_factory=list)  # every row, to re-render

    def field_name(self, error_field: str) -> str:
        """Map ``items[2].code`` to the form's ``item-5-code`` (the 3rd non-blank row)."""
        found = _ITEM_ERROR.match(error_field)
        if not found:
            return error_field
        index = int(found.group(1))
        if index >= len(self.positions):
            return "items"
        return f"item-{self.positions[index]}-{found.group(2) or 'code'}"


def item_rows(form: Mapping[str, Any]) -> ItemRows:
    """Read the item rows ``item-<n>-<field>`` of a catalogue form."""
    try:
        count = min(int(text(form, "item_rows") or 0), MAX_ITEM_ROWS)
    except ValueError:
        count = 0
    result = ItemRows()
    for n in range(count):
        row: dict[str, Any] = {f: text(form, f"item-{n}-{f}") for f in _ITEM_FIELDS}
        row["is_key"] = text(form, f"item-{n}-is_key") in ("on", "true", "1")
        result.shown.append(row)
        if not (row["code"] or row["name"]):
            continue
        sensitivity: Any = row["sensitivity"] or 1
        if isinstance(sensitivity, str) and sensitivity.isdigit():
            sensitivity = int(sensitivity)
        result.rows.append(
            {**row, "sensitivity": sensitivity, "description": row["description"] or None}
        )
        result.positions.append(n)
    return result
