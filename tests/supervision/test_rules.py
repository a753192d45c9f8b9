"""Pure rules of the supervision report: ranges, shares, nearest-rank percentiles."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from exchange.core.errors import InvalidInput
from exchange.supervision import rules

TODAY = date(2026, 11, 27)


def test_the_default_range_is_the_last_thirty_days() -> None:
    assert rules.date_range(None, None, today=TODAY) == (date(2026, 10, 29), TODAY)
    assert rules.date_range(None, date(2026, 1, 30), today=TODAY) == (
        date(2026, 1, 1),
        date(2026, 1, 30),
    )


def test_a_backwards_or_endless_range_is_refused_naming_from() -> None:
    with pytest.raises(InvalidInput) as backwards:
        rules.date_range(date(2026, 12, 1), date(2026, 11, 1), today=TODAY)
    assert backwards.value.errors == [
        {"field": "from", "message": "from (2026-12-01) is after to (2026-11-01)"}
    ]
    with pytest.raises(InvalidInput):
        rules.date_range(date(2000, 1, 1), TODAY, today=TODAY)


def test_days_are_china_days() -> None:
    start, end = rules.bounds(date(2026, 11, 27), date(2026, 11, 27))
    assert start == datetime(2026, 11, 26, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 27, 16, tzinfo=UTC)
    assert rules.as_of(date(2026, 12, 31), TODAY) == TODAY
    assert rules.as_of(date(2026, 11, 1), TODAY) == date(2026, 11, 1)


def test_nearest_rank_percentiles_are_observed_values() -> None:
    assert rules.percentile([40, 10, 30, 20], 50) == 20
    assert rules.percentile(list(range(1, 21)), 95) == 19
    assert rules.percentile([7.5], 95) == 7.5
    assert rules.percentile([], 50) is None
    with pytest.raises(ValueError):
        rules.percentile([1], 0)


def test_shares() -> None:
    assert rules.share(2, 3) == 0.6667
    assert rules.share(0, 0) is None
    assert rules.pulled_share({"fetched": 3, "submitted": 1, "refused": 5}) == 0.75
    assert rules.pulled_share({"unavailable": 2}) is None
