"""Pure rules of the grant lifecycle (共享权限): periods, effective status, coverage, narrowing.

Nothing here touches a session or the clock: ``today`` is always passed in (a civil date in
China), so every rule is tested without a database. Working days come from ``workdays``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from exchange.grants.workdays import working_days_between

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
REVOKED, EXPIRED, LAPSED = "revoked", "expired", "lapsed"
STATUSES = (PENDING, APPROVED, REFUSED, REVOKED, EXPIRED, LAPSED)
# A grant not re-certified (复核) within this many years of approval or its last
# certification lapses.
RECERTIFY_YEARS = 1
# Who decided when no person did.
BY_RULE_UNCONDITIONAL = "rule:unconditional"
BY_RULE_NOT_SHARED = "rule:not_shared"
SWEEP_ACTOR = "sweep"


def problem(field: str, message: str) -> dict[str, Any]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message}


def add_years(day: date, years: int) -> date:
    """Return the same calendar day ``years`` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def default_period(today: date, years: int = 1) -> tuple[date, date]:
    """Return a period of ``years`` starting today: [today, same day ``years`` on − 1 day]."""
    return today, add_years(today, years) - timedelta(days=1)


def period_problems(starts_on: date, ends_on: date, *, today: date, max_years: int) -> list[Any]:
    """Return the problems of a requested period: order, already over, longer than allowed."""
    problems = []
    if ends_on < starts_on:
        problems.append(problem("ends_on", f"ends_on {ends_on} is before starts_on {starts_on}"))
    elif ends_on > add_years(starts_on, max_years):
        problems.append(
            problem(
                "ends_on",
                f"the period {starts_on} – {ends_on} is longer than the allowed maximum of "
                f"{max_years} years (ends_on at most {add_years(starts_on, max_years)})",
            )
        )
    if ends_on < today:
        problems.append(problem("ends_on", f"ends_on {ends_on} is already past"))
    return problems


def unknown(values: Sequence[str], known: Iterable[str]) -> list[tuple[int, str]]:
    """Return (position, value) of each value not among ``known``."""
    have = set(known)
    return [(i, v) for i, v in enumerate(values) if v not in have]


def duplicates(values: Sequence[str]) -> list[tuple[int, str]]:
    """Return (position, value) of each value already listed before it."""
    seen: set[str] = set()
    found = []
    for i, v in enumerate(values):
        if v in seen:
            found.append((i, v))
        seen.add(v)
    return found


def recertify_by(certified_on: date | None) -> date | None:
    """Return the last day a grant certified on ``certified_on`` stays in force."""
    return add_years(certified_on, RECERTIFY_YEARS) if certified_on else None


def lapse_cutoff(today: date) -> date:
    """Return the oldest certification date still in force on ``today``."""
    return add_years(today, -RECERTIFY_YEARS)


def effective_status(status: str, *, ends_on: date, certified_on: date | None, today: date) -> str:
    """Return the status a grant has on ``today``, whether or not the sweep has recorded it.

    An approved grant whose end date has passed is expired; one not re-certified within a
    year is lapsed. Expiry wins when both apply (it is what the sweep records).
    """
    if status != APPROVED:
        return status
    if ends_on < today:
        return EXPIRED
    cutoff = recertify_by(certified_on)
    if cutoff is not None and cutoff < today:
        return LAPSED
    return APPROVED


def in_force(
    status: str, *, starts_on: date, ends_on: date, certified_on: date | None, today: date
) -> bool:
    """Return whether a grant gives access on ``today``."""
    live = effective_status(status, ends_on=ends_on, certified_on=certified_on, today=today)
    return live == APPROVED and starts_on <= today


def working_days_overdue(status: str, due_on: date | None, today: date) -> int | None:
    """Return how many working days a pending request is past its due date, if it is."""
    if status != PENDING or due_on is None or today <= due_on:
        return None
    return working_days_between(due_on, today)


def covers(
    granted_items: Iterable[str], purposes: Iterable[str], items: Iterable[str], purpose: str
) -> bool:
    """Return whether a grant of ``granted_items`` for ``purposes`` covers a request."""
    return purpose in set(purposes) and set(items) <= set(granted_items)


def outcome_by_rule(share_type: str) -> str:
    """Return what a request becomes at once: approved, refused, or pending for the provider."""
    return {"unconditional": APPROVED, "none": REFUSED}.get(share_type, PENDING)


def not_shared_reason(legal_basis: str | None) -> str:
    """Return the refusal reason of a 不予共享 resource, quoting its legal basis."""
    return f"不予共享（not shared）；legal basis: {legal_basis or 'none cited by the entry'}"


def narrowing_problems(
    *,
    requested_items: Sequence[str],
    requested_start: date,
    requested_end: date,
    items: Sequence[str] | None,
    starts_on: date | None,
    ends_on: date | None,
) -> list[dict[str, Any]]:
    """Return the problems of an approval that narrows a request (it may never widen it)."""
    problems = []
    if items is not None:
        if not items:
            problems.append(problem("items", "an approval grants at least one item"))
        for i, code in unknown(items, requested_items):
            problems.append(problem(f"items[{i}]", f"{code} was not requested"))
        for i, code in duplicates(items):
            problems.append(problem(f"items[{i}]", f"{code} is listed twice"))
    start = starts_on or requested_start
    end = ends_on or requested_end
    if start < requested_start or start > requested_end:
        problems.append(
            problem(
                "starts_on",
                f"{start} is outside the requested period {requested_start} – {requested_end}",
            )
        )
    if end > requested_end or end < requested_start:
        problems.append(
            problem(
                "ends_on",
                f"{end} is outside the requested period {requested_start} – {requested_end}",
            )
        )
    if not problems and end < start:
        problems.append(problem("ends_on", f"ends_on {end} is before starts_on {start}"))
    return problems


def need_text(one_thing_name: str, material_names: Sequence[str]) -> str:
    """Return the stated need of a request filed by the planner for a one-thing."""
    label = one_thing_name.removesuffix("一件事")
    return f"为办理「{label}」一件事申请（材料：{'、'.join(material_names)}）"
