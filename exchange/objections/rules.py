"""Pure rules of data objections (数据异议): keys, items, corrections, the answer clock.

No session, no clock: ``today`` (a civil date in China) is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from catalogs.identifiers import resident_id_problem, uscc_problem
from exchange.grants.workdays import add_working_days, working_days_between

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
STATUSES = (OPEN, ANSWERED, CLOSED)
CORRECTED, CONFIRMED_CORRECT, REJECTED = "corrected", "confirmed_correct", "rejected"
ANSWERS = (CORRECTED, CONFIRMED_CORRECT, REJECTED)
# Where an objection comes from: a citizen's tracker, a department (system or admin) through
# the API, or the hub's own conflict detection between sources (issue 6).
SOURCES = ("tracker", "department", "conflict")
SWEEP_ACTOR = "sweep"
MAX_KEY_LENGTH = 256


def problem(field: str, message: str) -> dict[str, Any]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message}


def mask_id(value: str) -> str:
    """Mask an identifier for display: ``330102********1234`` (first 6, last 4 kept)."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def key_kind(item_code: str) -> str | None:
    """Return which identifier standard a key item follows (by its code), if any."""
    if item_code == "id_number" or item_code.endswith("_id_number"):
        return "resident_id"  # 公民身份号码, GB 11643
    if item_code == "uscc" or item_code.endswith("_uscc"):
        return "uscc"  # 统一社会信用代码, GB 32100
    return None


def key_problem(item_code: str | None, value: str) -> str | None:
    """Return why ``value`` cannot be a key of the item ``item_code``, or None."""
    if not value or len(value) > MAX_KEY_LENGTH or value != value.strip():
        return f"a key is 1-{MAX_KEY_LENGTH} characters without surrounding spaces"
    kind = key_kind(item_code) if item_code else None
    if kind == "resident_id":
        found = resident_id_problem(value)
        return f"not a valid resident ID ({item_code}): {found}" if found else None
    if kind == "uscc":
        found = uscc_problem(value)
        return f"not a valid unified social credit code ({item_code}): {found}" if found else None
    return None


def choose_key_item(key_items: Sequence[str], wanted: str | None) -> tuple[str | None, str | None]:
    """Return (the key item a key is for, a problem): ``wanted`` or the resource's first."""
    if wanted is not None:
        if wanted not in key_items:
            listed = ", ".join(key_items) or "none"
            return None, f"{wanted} is not a key item of the resource (key items: {listed})"
        return wanted, None
    return (key_items[0] if key_items else None), None


def item_problems(items: Sequence[str], known: Iterable[str], resource: str) -> list[Any]:
    """Return the problems of the disputed items: none, unknown to the resource, repeated."""
    if not items:
        return [problem("items", "name at least one disputed item")]
    have = set(known)
    unknown = [(i, c) for i, c in enumerate(items) if c not in have]
    problems = []
    if unknown:
        names = ", ".join(c for _, c in unknown)
        problems.append(problem("items", f"resource {resource} has no item(s) {names}"))
        problems += [problem(f"items[{i}]", f"no item {c} in {resource}") for i, c in unknown]
    seen: set[str] = set()
    for i, code in enumerate(items):
        if code in seen:
            problems.append(problem(f"items[{i}]", f"{code} is listed twice"))
        seen.add(code)
    return problems


def correction_problems(correction: Mapping[str, Any] | None, items: Sequence[str]) -> list[Any]:
    """Return the problems of a proposed correction: it corrects disputed items only."""
    if not correction:
        return []
    return [
        problem(f"proposed_correction.{code}", f"{code} is not one of the disputed items")
        for code in correction
        if code not in items
    ]


def due_on(raised_on: date, working_days: int) -> date:
    """Return the provider's deadline: ``working_days`` working days after raising."""
    return add_working_days(raised_on, working_days)


def working_days_overdue(status: str, due: date, today: date) -> int | None:
    """Return how many working days an open objection is past its deadline, if it is."""
    if status != OPEN or today <= due:
        return None
    return working_days_between(due, today)


def answer_problems(answer: str, reason: str | None) -> list[Any]:
    """Return the problems of an answer: a rejection states its reason."""
    if answer == REJECTED and not (reason and reason.strip()):
        return [problem("reason", "a rejection states its reason")]
    return []
