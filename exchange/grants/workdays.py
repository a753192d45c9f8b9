"""Working days (工作日) on the Chinese holiday calendar, with its make-up workdays (调休).

The calendar comes from the maintained ``chinesecalendar`` package (import name
``chinese_calendar``), which carries the State Council's published 放假安排 year by year.
The State Council publishes next year's arrangement only in the autumn, so the package has
no data for years it does not know yet (today: before 2004 and after 2026) and raises
``NotImplementedError`` for them. For such a year we fall back to Monday–Friday and log one
warning per year: a due date may then be off by the holidays not yet published, until the
package is upgraded (``pip install -U chinesecalendar``).
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("datarun.grants.workdays")

_warned_years: set[int] = set()
_warn_lock = threading.Lock()


def _warn_unsupported(year: int) -> None:
    with _warn_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "chinesecalendar has no holiday data for %s: counting Monday-Friday as working days "
        "(upgrade chinesecalendar once the State Council publishes that year's 放假安排)",
        year,
    )


def is_working_day(day: date) -> bool:
    """Return whether ``day`` is a working day (holidays off, 调休 make-up days on)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_unsupported(day.year)
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """Return the ``n``-th working day after ``start`` (``start`` itself when ``n`` is 0)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Return the number of working days after ``a`` up to ``b`` inclusive (negative if b < a)."""
    if b < a:
        return -working_days_between(b, a)
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
