"""Pure rules of the supervision report: the date range, shares and percentiles.

Nothing here touches a session or the clock: today is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from exchange.core.errors import InvalidInput

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_DAYS = 30  # the default range: the last 30 days, today included
MAX_DAYS = 3_660  # ten years: longer ranges are a mistake, not a report
RATE_DIGITS = 4


def problem(field: str, message: str) -> dict[str, Any]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message}


def date_range(since: date | None, until: date | None, *, today: date) -> tuple[date, date]:
    """Return the inclusive (from, to) civil dates of a report; 422 when they make no sense.

    Missing ``to`` → today; missing ``from`` → 30 days up to ``to``.
    """
    last = until or today
    first = since or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        message = f"from ({first}) is after to ({last})"
        raise InvalidInput(message, errors=[problem("from", message)])
    if (last - first).days + 1 > MAX_DAYS:
        message = f"a report covers at most {MAX_DAYS} days, not {(last - first).days + 1}"
        raise InvalidInput(message, errors=[problem("from", message)])
    return first, last


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Return the UTC instants [start, end) of the China civil days ``first``..``last``."""
    start = datetime.combine(first, time(0), CHINA).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), CHINA).astimezone(UTC)
    return start, end


def as_of(last: date, today: date) -> date:
    """Return the day overdue items are judged on: the range's last day, at most today."""
    return min(last, today)


def share(part: int, whole: int) -> float | None:
    """Return ``part / whole`` rounded to four digits, or None when there is nothing."""
    if whole <= 0:
        return None
    return round(part / whole, RATE_DIGITS)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile (a value actually observed), or None.

    The smallest value with at least ``p`` percent of the values at or below it:
    p50 of [10, 20, 30, 40] is 20, p95 of 1..20 is 19.
    """
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def pulled_share(counts: dict[str, int]) -> float | None:
    """Return the share of materials pulled (fetched) among fetched, submitted, must_submit."""
    fetched = counts.get("fetched", 0)
    brought = counts.get("submitted", 0) + counts.get("must_submit", 0)
    return share(fetched, fetched + brought)


def one_thing_purposes(one_thing: str, service_items: Sequence[str]) -> frozenset[str]:
    """Return the grant purposes that concern a one-thing: its code and its service items."""
    return frozenset([one_thing, *service_items])
