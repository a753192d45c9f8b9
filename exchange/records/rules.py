"""Pure rules of a record pull: key checks by the key item, item checks, values and hashing.

Nothing here touches a session, a connector or the clock.

The response hash: SHA-256 over the UTF-8 bytes of the ``records`` array of the response
serialised canonically (``canonical_json``: object keys sorted, no whitespace, non-ASCII
characters as themselves, no NaN/Infinity). Every value in it is a string, an integer, a
boolean or null (``json_value`` turns decimals, dates and bytes into strings), so any JSON
library re-serialising the parsed ``records`` the same way gets the same bytes. The
response carries ``records`` last, as exactly those bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

from catalogs.identifiers import resident_id_problem, uscc_problem

RESIDENT_ID, USCC = "resident_id", "uscc"
# Key kinds by the key item's data type when it is no known identifier.
_KIND_BY_TYPE = {
    "N": "number",
    "Y": "number",
    "F": "number",
    "I": "integer",
    "D": "date",
    "T": "datetime",
    "L": "boolean",
}
KEY_MAX_LENGTH = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER = re.compile(r"^-?\d{1,30}(?:\.\d{1,30})?$")
_INTEGER = re.compile(r"^-?\d{1,18}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WILDCARD = "*"


def problem(field: str, message: str) -> dict[str, str]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message}


def is_resident_id_item(code: str, name: str) -> bool:
    """Return whether an item holds 18-digit resident IDs (公民身份号码, GB 11643)."""
    return (
        code == "id_number"
        or code.endswith("_id_number")
        or "公民身份号码" in name
        or "身份证号" in name
    )


def is_uscc_item(code: str, name: str) -> bool:
    """Return whether an item holds unified social credit codes (GB 32100)."""
    return code == "uscc" or code.endswith("_uscc") or "统一社会信用代码" in name


def key_kind(code: str, name: str, data_type: str) -> str:
    """Return how keys of this key item are checked: an identifier, a type, or free text."""
    if is_resident_id_item(code, name):
        return RESIDENT_ID
    if is_uscc_item(code, name):
        return USCC
    return _KIND_BY_TYPE.get(data_type, "text")


def key_problem(kind: str, value: str) -> str | None:
    """Return why ``value`` is not a valid key of ``kind``, or None if it is."""
    if not value or len(value) > KEY_MAX_LENGTH:
        return f"must be 1 to {KEY_MAX_LENGTH} characters"
    if _CONTROL.search(value) or value != value.strip():
        return "must not contain control characters or surrounding spaces"
    if kind == RESIDENT_ID:
        return resident_id_problem(value)
    if kind == USCC:
        return uscc_problem(value)
    if kind == "number":
        return None if _NUMBER.match(value) else "must be a decimal number such as 89.37"
    if kind == "integer":
        return None if _INTEGER.match(value) else "must be an integer"
    if kind == "date":
        return None if _is_date(value) else "must be a date YYYY-MM-DD"
    if kind == "datetime":
        return None if _is_datetime(value) else "must be an ISO 8601 date and time"
    if kind == "boolean":
        return None if value in ("true", "false") else 'must be "true" or "false"'
    return None


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return len(value) >= 16


def key_problems(kind: str, keys: Sequence[str], *, field: str = "keys") -> list[dict[str, str]]:
    """Return the field errors of a batch of keys: bad values and repeats."""
    problems = []
    seen: set[str] = set()
    for i, key in enumerate(keys):
        where = f"{field}[{i}]"
        why = key_problem(kind, key)
        if why is not None:
            problems.append(problem(where, why))
        elif key in seen:
            problems.append(problem(where, "listed twice"))
        seen.add(key)
    return problems


def item_problems(
    items: Sequence[str], known: Iterable[str], *, resource: str
) -> list[dict[str, str]]:
    """Return the field errors of the items asked: "*", unknown items and repeats."""
    have = set(known)
    problems = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"items[{i}]"
        if item == WILDCARD:
            problems.append(problem(where, 'name the items one by one: "*" is not accepted'))
        elif item not in have:
            problems.append(problem(where, f"resource {resource} has no item {item!r}"))
        elif item in seen:
            problems.append(problem(where, "listed twice"))
        seen.add(item)
    return problems


def key_text(value: Any) -> str:
    """Return a record's key value as the string a caller sends for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def json_value(value: Any) -> Any:
    """Return ``value`` as a JSON-native value: decimals, dates and bytes become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value`` (sorted keys, no whitespace).

    ``value`` holds what ``json_value`` returns (strings, integers, booleans, null) in lists
    and objects with string keys. The standard library's ``json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` defines the form; orjson writes the same
    bytes for those values at a fraction of the cost (tests/records/test_canonical_json.py
    checks it), and what it refuses (an integer beyond 64 bits, a lone surrogate) is left
    to the standard library (a lone surrogate becomes U+FFFD).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _stdlib_json(value, sort_keys=True)


def compact_json(value: Any) -> bytes:
    """Return ``value`` as compact UTF-8 JSON, keys in their order (an answer's head)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _stdlib_json(value, sort_keys=False)


def _stdlib_json(value: Any, *, sort_keys: bool) -> bytes:
    text = json.dumps(
        value, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"), allow_nan=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from a source (a REST department's JSON "\ud800"), which UTF-8
        # cannot carry: U+FFFD in its place, as the access log does.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def records_sha256(records: Sequence[Mapping[str, Any]]) -> str:
    """Return the hex SHA-256 of the canonical JSON of a response's ``records``."""
    return hashlib.sha256(canonical_json(list(records))).hexdigest()


def digest_header(hex_digest: str) -> str:
    """Return a digest as an RFC 9530-style field value: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii") + ":"
