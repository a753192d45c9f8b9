"""Pure objection rules: masking, key checks, disputed items, the answer clock."""

from __future__ import annotations

from datetime import date

from exchange.objections import rules
from tests.tracker.idp import ALICE, BAD_CHECK


def test_mask_id_keeps_the_region_and_the_last_four() -> None:
    assert rules.mask_id(ALICE) == f"{ALICE[:6]}********{ALICE[-4:]}"
    assert rules.mask_id("12345") == "*****"


def test_keys_are_checked_by_the_standard_their_item_follows() -> None:
    assert rules.key_kind("id_number") == rules.key_kind("mother_id_number") == "resident_id"
    assert rules.key_kind("uscc") == rules.key_kind("agent_uscc") == "uscc"
    assert rules.key_kind("property_cert_no") is None
    assert rules.key_problem("id_number", ALICE) is None
    assert "GB 11643" in (rules.key_problem("taxpayer_id_number", BAD_CHECK) or "")
    assert "GB 32100" in (rules.key_problem("uscc", "91330000MA27U8X12X") or "")
    assert rules.key_problem("property_cert_no", "浙(2026)杭州市不动产权第0012345号") is None
    assert rules.key_problem(None, " padded") is not None
    assert rules.key_problem(None, "x" * 257) is not None


def test_choose_key_item() -> None:
    assert rules.choose_key_item(["property_cert_no", "unit_no"], None) == (
        "property_cert_no",
        None,
    )
    assert rules.choose_key_item(["property_cert_no", "unit_no"], "unit_no") == ("unit_no", None)
    chosen, problem = rules.choose_key_item(["id_number"], "name")
    assert chosen is None and problem and "key items: id_number" in problem
    assert rules.choose_key_item([], None) == (None, None)


def test_item_and_correction_problems() -> None:
    known = ["id_number", "name", "address"]
    assert rules.item_problems(["name"], known, "R") == []
    fields = [p["field"] for p in rules.item_problems(["name", "x", "name"], known, "R")]
    assert fields == ["items", "items[1]", "items[2]"]
    assert rules.item_problems([], known, "R")[0]["field"] == "items"
    assert rules.correction_problems({"name": "张三"}, ["name"]) == []
    assert rules.correction_problems({"address": "x"}, ["name"])[0]["field"] == (
        "proposed_correction.address"
    )


def test_overdue_counts_working_days_of_open_objections_only() -> None:
    due = date(2026, 10, 10)
    assert rules.working_days_overdue("open", due, due) is None
    assert rules.working_days_overdue("open", due, date(2026, 10, 12)) == 1
    assert rules.working_days_overdue("answered", due, date(2026, 10, 12)) is None
    assert rules.answer_problems("rejected", "  ") != []
    assert rules.answer_problems("corrected", None) == []
