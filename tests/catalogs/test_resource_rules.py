"""Pure catalogue rules, no database: 资源代码, version bumps, lifecycle, sharing attributes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from catalogs.resources import rules


def snap(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "301001001/000001",
        "name": "居民户籍信息",
        "provider": "zj-gat",
        "summary": "全省常住人口户籍登记信息",
        "format": "database",
        "items": [
            {
                "code": "id_number",
                "name": "公民身份号码",
                "data_type": "C",
                "sensitivity": 3,
                "is_key": True,
                "description": None,
            },
            {
                "code": "name",
                "name": "姓名",
                "data_type": "C",
                "sensitivity": 2,
                "is_key": False,
                "description": None,
            },
        ],
        "share_type": "conditional",
        "share_condition": "仅用于政务服务办理",
        "share_method": "api",
        "legal_basis": "《中华人民共和国户口登记条例》",
        "open_type": "closed",
        "update_cycle": "daily",
        "published_on": None,
        "related_codes": [],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "code",
    ["301001001/000001", "101/000001", "201001/123456", "399999999/999999"],
)
def test_valid_resource_codes(code: str) -> None:
    assert rules.validate_code(code) is None


@pytest.mark.parametrize(
    "code",
    [
        "",
        "401001/000001",
        "3010/000001",
        "301001001001/000001",
        "301001001/00001",
        "301001001-000001",
        "301001001/0000001",
        "30100100a/000001",
        "301001001/000001/x",
    ],
)
def test_bad_resource_codes_are_explained(code: str) -> None:
    problem = rules.validate_code(code)
    assert problem and "分类码" in problem


def test_category_code_is_the_part_before_the_slash() -> None:
    assert rules.category_code("301001001/000001") == "301001001"


def test_adding_an_item_is_a_minor_version() -> None:
    old = snap()
    new = copy.deepcopy(old)
    new["items"].append(
        {
            "code": "address",
            "name": "住址",
            "data_type": "C",
            "sensitivity": 3,
            "is_key": False,
            "description": None,
        }
    )
    kind, version, changes = rules.next_version(old, new, (1, 0))
    assert (kind, version) == ("minor", (1, 1))
    assert [c["op"] for c in changes] == ["add_item"]
    assert changes[0]["item"] == "address" and changes[0]["to"]["name"] == "住址"


def test_removing_an_item_is_a_major_version() -> None:
    old = snap()
    new = copy.deepcopy(old)
    new["items"].pop()
    kind, version, changes = rules.next_version(old, new, (1, 3))
    assert (kind, version) == ("major", (2, 0))
    assert changes[0]["op"] == "remove_item" and changes[0]["item"] == "name"


def test_retyping_an_item_is_a_major_version() -> None:
    old = snap()
    new = copy.deepcopy(old)
    new["items"][1]["data_type"] = "M"
    kind, version, changes = rules.next_version(old, new, (2, 1))
    assert (kind, version) == ("major", (3, 0))
    assert changes == [
        {
            "op": "retype_item",
            "item": "name",
            "field": "items.name.data_type",
            "from": "C",
            "to": "M",
        }
    ]


def test_other_changes_are_minor_and_listed() -> None:
    old = snap()
    new = copy.deepcopy(old)
    new["summary"] = "新摘要"
    new["items"][0]["sensitivity"] = 4
    kind, version, changes = rules.next_version(old, new, (1, 0))
    assert (kind, version) == ("minor", (1, 1))
    assert {(c["op"], c["field"]) for c in changes} == {
        ("set", "summary"),
        ("change_item", "items.id_number.sensitivity"),
    }


def test_reordering_items_is_a_minor_change() -> None:
    old = snap()
    new = copy.deepcopy(old)
    new["items"].reverse()
    kind, _, changes = rules.next_version(old, new, (1, 0))
    assert kind == "minor" and changes[0]["field"] == "items.order"


def test_no_change_keeps_the_version() -> None:
    assert rules.next_version(snap(), snap(), (1, 2)) == (None, (1, 2), [])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("draft", "published"),
        ("published", "deprecated"),
        ("deprecated", "published"),
        ("deprecated", "retired"),
    ],
)
def test_allowed_transitions(old: str, new: str) -> None:
    assert rules.check_transition(old, new) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("draft", "retired"),
        ("draft", "deprecated"),
        ("published", "draft"),
        ("published", "retired"),
        ("retired", "published"),
        ("published", "published"),
        ("draft", "gone"),
    ],
)
def test_refused_transitions_name_both_states(old: str, new: str) -> None:
    problem = rules.check_transition(old, new)
    assert problem and new in problem


def test_share_rules() -> None:
    assert rules.share_problems("unconditional", None, None) == []
    assert rules.share_problems("none", None, "《条例》") == []
    assert [p["field"] for p in rules.share_problems("none", None, " ")] == ["legal_basis"]
    fields = [p["field"] for p in rules.share_problems("conditional", None, None)]
    assert fields == ["legal_basis", "share_condition"]


def test_search_text_is_lower_cased_and_covers_items_and_provider() -> None:
    text = rules.search_text(snap(name="Hukou 户籍"), "浙江省公安厅")
    assert "hukou 户籍" in text and "id_number" in text and "公民身份号码" in text
    assert "浙江省公安厅" in text and "301001001/000001" in text
