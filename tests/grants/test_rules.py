"""Pure grant rules: periods, effective status, coverage, narrowing, the planner's need text."""

from __future__ import annotations

from datetime import date

from exchange.grants import rules

TODAY = date(2026, 11, 27)


def test_add_years_keeps_the_day_or_falls_back_from_29_february() -> None:
    assert rules.add_years(date(2026, 11, 27), 1) == date(2027, 11, 27)
    assert rules.add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert rules.add_years(date(2028, 2, 29), -1) == date(2027, 2, 28)


def test_default_period_is_one_year() -> None:
    assert rules.default_period(TODAY) == (TODAY, date(2027, 11, 26))


def test_period_problems() -> None:
    ok = rules.period_problems(TODAY, date(2029, 11, 27), today=TODAY, max_years=3)
    assert ok == []
    too_long = rules.period_problems(TODAY, date(2029, 11, 28), today=TODAY, max_years=3)
    assert [p["field"] for p in too_long] == ["ends_on"]
    assert "3 years" in too_long[0]["message"]
    backwards = rules.period_problems(TODAY, date(2026, 11, 26), today=TODAY, max_years=3)
    assert [p["message"] for p in backwards] == [
        "ends_on 2026-11-26 is before starts_on 2026-11-27",
        "ends_on 2026-11-26 is already past",
    ]


def test_effective_status_follows_the_dates() -> None:
    def status(ends_on: date, certified_on: date | None, stored: str = "approved") -> str:
        return rules.effective_status(
            stored, ends_on=ends_on, certified_on=certified_on, today=TODAY
        )

    assert status(date(2027, 1, 1), date(2026, 1, 1)) == "approved"
    assert status(date(2026, 11, 27), date(2025, 11, 27)) == "approved"  # last day of both
    assert status(date(2026, 11, 26), date(2026, 1, 1)) == "expired"
    assert status(date(2027, 1, 1), date(2025, 11, 26)) == "lapsed"
    assert status(date(2026, 11, 26), date(2025, 1, 1)) == "expired"  # expiry wins
    assert status(date(2020, 1, 1), None, "revoked") == "revoked"
    assert status(date(2020, 1, 1), None, "pending") == "pending"


def test_in_force_needs_the_start_date() -> None:
    def live(starts_on: date) -> bool:
        return rules.in_force(
            "approved",
            starts_on=starts_on,
            ends_on=date(2027, 6, 30),
            certified_on=TODAY,
            today=TODAY,
        )

    assert live(TODAY) and not live(date(2026, 11, 28))


def test_coverage_needs_every_item_and_the_purpose() -> None:
    granted, purposes = ["id_number", "name", "address"], ["330000-ZR-001"]
    assert rules.covers(granted, purposes, ["name", "id_number"], "330000-ZR-001")
    assert not rules.covers(granted, purposes, ["name", "photo"], "330000-ZR-001")
    assert not rules.covers(granted, purposes, ["name"], "esf-transfer")


def test_outcome_by_sharing_type() -> None:
    assert rules.outcome_by_rule("unconditional") == "approved"
    assert rules.outcome_by_rule("conditional") == "pending"
    assert rules.outcome_by_rule("none") == "refused"
    assert "《法》第一条" in rules.not_shared_reason("《法》第一条")


def test_narrowing_may_never_widen() -> None:
    def problems(**kw: object) -> list[str]:
        args: dict[str, object] = {
            "requested_items": ["a", "b"],
            "requested_start": date(2026, 12, 1),
            "requested_end": date(2027, 11, 30),
            "items": None,
            "starts_on": None,
            "ends_on": None,
        }
        args.update(kw)
        return [p["field"] for p in rules.narrowing_problems(**args)]  # type: ignore[arg-type]

    assert problems() == []
    assert problems(items=["b"], starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30)) == []
    assert problems(items=["a", "c"]) == ["items[1]"]
    assert problems(items=[]) == ["items"]
    assert problems(items=["a", "a"]) == ["items[1]"]
    assert problems(starts_on=date(2026, 11, 30)) == ["starts_on"]
    assert problems(ends_on=date(2027, 12, 1)) == ["ends_on"]
    assert problems(starts_on=date(2027, 6, 1), ends_on=date(2027, 5, 1)) == ["ends_on"]


def test_working_days_overdue() -> None:
    assert rules.working_days_overdue("pending", date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert rules.working_days_overdue("pending", date(2026, 10, 8), date(2026, 10, 8)) is None
    assert rules.working_days_overdue("approved", date(2026, 9, 30), date(2026, 10, 8)) is None


def test_need_text_names_the_one_thing_and_materials() -> None:
    text = rules.need_text("二手房交易过户一件事", ["卖方身份证明", "买方身份证明"])
    assert text == "为办理「二手房交易过户」一件事申请（材料：卖方身份证明、买方身份证明）"
    assert rules.need_text("新生儿出生", ["出生医学证明"]).startswith("为办理「新生儿出生」一件事")
