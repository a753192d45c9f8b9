"""Working days on the Chinese holiday calendar: holidays and 调休 make-up workdays."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from exchange.grants import workdays
from exchange.grants.workdays import add_working_days, is_working_day, working_days_between


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # 国庆节 (Thursday)
        (date(2026, 10, 7), False),  # 国庆节 (Wednesday)
        (date(2026, 10, 10), True),  # Saturday, 调休 make-up workday for 国庆
        (date(2026, 9, 20), True),  # Sunday, 调休 make-up workday for 国庆
        (date(2026, 9, 25), False),  # 中秋节 (Friday)
        (date(2026, 2, 17), False),  # 春节 (Tuesday)
        (date(2026, 2, 14), True),  # Saturday, 调休 make-up workday for 春节
        (date(2026, 2, 28), True),  # Saturday, 调休 make-up workday for 春节
        (date(2026, 11, 27), True),  # an ordinary Friday
        (date(2026, 11, 28), False),  # an ordinary Saturday
    ],
)
def test_2026_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_ten_working_days_across_national_day() -> None:
    # Mon 28 Sep: 29, 30 Sep; 8, 9, 10 (Saturday make-up), 12–16 Oct.
    assert add_working_days(date(2026, 9, 28), 10) == date(2026, 10, 16)
    # The day after 30 Sep that is a working day is 8 October.
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # From a Friday, the next working day is a Sunday make-up day (20 Sep).
    assert add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_ten_working_days_across_spring_festival() -> None:
    # Fri 13 Feb: 14 (Sat make-up); 16–23 off; 24–27, 28 (Sat make-up); 2–5 March.
    assert add_working_days(date(2026, 2, 13), 10) == date(2026, 3, 5)


def test_working_days_between() -> None:
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert working_days_between(date(2026, 10, 1), date(2026, 10, 12)) == 4  # 8, 9, 10, 12
    assert working_days_between(date(2026, 10, 12), date(2026, 10, 1)) == -4
    assert working_days_between(date(2026, 11, 27), date(2026, 11, 27)) == 0
    start = date(2026, 2, 13)
    assert working_days_between(start, add_working_days(start, 10)) == 10


def test_zero_days_is_the_same_day_and_negative_is_refused() -> None:
    assert add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 10, 3), -1)


def test_years_without_data_fall_back_to_monday_to_friday_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workdays, "_warned_years", set())
    caplog.set_level(logging.WARNING, logger="datarun.grants.workdays")
    # 2100: no published arrangement, whatever version of the package is installed.
    assert add_working_days(date(2100, 3, 5), 5) == date(2100, 3, 12)  # Fri → next Fri
    assert is_working_day(date(2100, 3, 6)) is False  # Saturday
    assert working_days_between(date(2100, 3, 5), date(2100, 3, 12)) == 5
    warnings = [r for r in caplog.records if "2100" in r.getMessage()]
    assert len(warnings) == 1
    assert "Monday-Friday" in warnings[0].getMessage()
