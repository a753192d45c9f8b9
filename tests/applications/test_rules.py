"""Pure rules of applications: transitions, case numbers, identifier checks (no database)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogs.identifiers import resident_id_check_digit, uscc_check_char
from exchange.applications import rules
from exchange.applications.models import APPLICATION_STATUSES
from exchange.core.errors import Conflict

VALID_ID = "11010519491231002" + resident_id_check_digit("11010519491231002")
VALID_USCC = "91330106MA2B0000C"[:17]
VALID_USCC += uscc_check_char(VALID_USCC)


def test_transition_table_covers_every_status_and_only_them() -> None:
    assert set(rules.TRANSITIONS) == set(APPLICATION_STATUSES)
    for nexts in rules.TRANSITIONS.values():
        assert nexts <= set(APPLICATION_STATUSES)
    assert {"completed", "withdrawn"} == rules.FINAL_STATUSES


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("accepted", "in_review"),
        ("accepted", "withdrawn"),
        ("in_review", "completed"),
        ("in_review", "returned"),
        ("in_review", "withdrawn"),
        ("returned", "in_review"),
        ("returned", "withdrawn"),
    ],
)
def test_allowed_transitions_pass(current: str, target: str) -> None:
    rules.check_transition(current, target, number="BJ330000-20261127-000001")


def test_refused_transition_is_409_naming_both_statuses_and_the_number() -> None:
    with pytest.raises(Conflict) as caught:
        rules.check_transition("completed", "in_review", number="BJ330000-20261127-000007")
    err = caught.value
    assert err.status == 409
    assert "completed" in err.detail and "in_review" in err.detail
    assert "BJ330000-20261127-000007" in err.detail
    assert err.extra == {"current_status": "completed", "target_status": "in_review"}


def test_unknown_current_status_is_a_conflict_not_a_crash() -> None:
    with pytest.raises(Conflict, match="unknown status"):
        rules.check_transition("lost", "in_review", number="N")


@given(
    st.sampled_from(APPLICATION_STATUSES),
    st.sampled_from(APPLICATION_STATUSES),
)
def test_check_transition_agrees_with_the_table(current: str, target: str) -> None:
    allowed = target in rules.TRANSITIONS[current]
    try:
        rules.check_transition(current, target, number="N")
    except Conflict:
        assert not allowed
    else:
        assert allowed


@given(st.lists(st.sampled_from(APPLICATION_STATUSES), max_size=8))
def test_no_walk_leaves_a_final_status(walk: list[str]) -> None:
    status = "accepted"
    for target in walk:
        try:
            rules.check_transition(status, target, number="N")
        except Conflict:
            continue
        assert not rules.is_final(status)
        status = target


def test_application_number_format() -> None:
    assert rules.application_number(42, date(2026, 11, 27)) == "BJ330000-20261127-000042"
    assert rules.application_number(1_234_567, date(2027, 1, 2)) == "BJ330000-20270102-1234567"
    assert rules.application_number(5, date(2026, 1, 1), region="330106").startswith("BJ330106-")
    with pytest.raises(ValueError):
        rules.application_number(0, date(2026, 1, 1))
    with pytest.raises(ValueError):
        rules.application_number(1, date(2026, 1, 1), region="ZJ")


@given(st.integers(min_value=1, max_value=10**9), st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_application_number_round_trips_and_fits_the_column(n: int, day: date) -> None:
    number = rules.application_number(n, day)
    assert len(number) <= 40  # Application.number is String(40)
    assert rules.parse_application_number(number) == ("330000", day, n)


def test_parse_refuses_malformed_numbers() -> None:
    assert rules.parse_application_number("BJ330000-20261327-000001") is None
    assert rules.parse_application_number("330000-20261127-000001") is None
    assert rules.parse_application_number("BJ330000-20261127-1") is None


def test_valid_identifiers_have_no_problems() -> None:
    ids = {
        "resident_id": VALID_ID,
        "uscc": VALID_USCC,
        "property_cert_no": "浙(2024)杭州市不动产权第0001234号",
    }
    assert rules.identifier_problems(ids) == []


def test_resident_id_with_a_wrong_check_digit_is_named() -> None:
    wrong = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")
    problems = rules.identifier_problems({"resident_id": wrong})
    assert problems == [
        {
            "field": "applicant.identifiers.resident_id",
            "message": "not a valid resident ID: check digit does not match (GB 11643)",
        }
    ]


def test_uscc_with_a_wrong_check_character_is_named() -> None:
    wrong = VALID_USCC[:17] + ("0" if VALID_USCC[17] != "0" else "1")
    [problem] = rules.identifier_problems({"uscc": wrong})
    assert problem["field"] == "applicant.identifiers.uscc"
    assert "GB 32100" in problem["message"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty"),
        ("x" * 65, "at most 64"),
        ("abc\x00", "printable"),
        (" abc", "printable"),
    ],
)
def test_other_identifier_kinds_need_a_short_printable_value(value: str, words: str) -> None:
    [problem] = rules.identifier_problems({"property_cert_no": value}, field="material_keys")
    assert problem["field"] == "material_keys.property_cert_no"
    assert words in problem["message"]


def test_identifier_kind_and_value_types_are_checked() -> None:
    problems = rules.identifier_problems({"Bad Kind": "x", "passport": 12})  # type: ignore[dict-item]
    assert [p["field"] for p in problems] == [
        "applicant.identifiers.Bad Kind",
        "applicant.identifiers.passport",
    ]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["approved", "approved"], "completed"),
        (["approved", "pending"], None),
        (["approved", "rejected", "pending"], "returned"),
        ([], None),
    ],
)
def test_status_after_decisions(parts: list[str], expected: str | None) -> None:
    assert rules.status_after_decisions(parts) == expected


def test_part_decisions() -> None:
    assert rules.part_decision_status("approve") == "approved"
    assert rules.part_decision_status("reject") == "rejected"
    with pytest.raises(ValueError):
        rules.part_decision_status("maybe")
    rules.check_part_decision("pending", part_id=3, number="N")
    with pytest.raises(Conflict, match="part 3 of application N is already approved"):
        rules.check_part_decision("approved", part_id=3, number="N")


def test_at_most_one_visit() -> None:
    assert rules.counts_as_one_visit(1) and rules.counts_as_one_visit(0)
    assert not rules.counts_as_one_visit(2)


def test_only_fetched_evidence_can_be_declined() -> None:
    rules.check_decline("fetched", material="seller_id", number="N")
    with pytest.raises(Conflict, match="material seller_id of application N is must_submit"):
        rules.check_decline("must_submit", material="seller_id", number="N")


@pytest.mark.parametrize("status", ["must_submit", "accepted_pending", "refused", "unavailable"])
def test_a_file_may_be_brought_for_what_was_not_fetched(status: str) -> None:
    rules.check_file_allowed(status, material="m", number="N")


def test_a_file_for_fetched_evidence_needs_a_decline_first() -> None:
    with pytest.raises(Conflict, match="decline the fetched evidence"):
        rules.check_file_allowed("fetched", material="m", number="N")


def test_kinds_ending_in_resident_id_or_uscc_get_the_check_digit_too() -> None:
    wrong_id = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")
    wrong_uscc = VALID_USCC[:17] + ("0" if VALID_USCC[17] != "0" else "1")
    problems = rules.identifier_problems(
        {"newborn_resident_id": wrong_id, "unit_uscc": wrong_uscc, "spouse_resident_id": VALID_ID}
    )
    assert [p["field"] for p in problems] == [
        "applicant.identifiers.newborn_resident_id",
        "applicant.identifiers.unit_uscc",
    ]
