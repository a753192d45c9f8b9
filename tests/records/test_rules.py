"""Pure rules of a pull: key checks by the key item, item checks, values, hashing, masking."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from exchange.records import masking, rules
from exchange.records.masking import mask_kind, mask_value, should_mask

SELLER = "330106197803154217"


@pytest.mark.parametrize(
    ("code", "name", "data_type", "kind"),
    [
        ("id_number", "公民身份号码", "C", rules.RESIDENT_ID),
        ("taxpayer_id_number", "纳税人证件号码", "C", rules.RESIDENT_ID),
        ("sfzh", "公民身份号码", "C", rules.RESIDENT_ID),
        ("uscc", "统一社会信用代码", "C", rules.USCC),
        ("tyshxydm", "统一社会信用代码", "C", rules.USCC),
        ("property_cert_no", "不动产权证号", "C", "text"),
        ("household_size", "人口数", "I", "integer"),
        ("building_area", "建筑面积", "N", "number"),
        ("registered_on", "登记日期", "D", "date"),
        ("birth_datetime", "出生时间", "T", "datetime"),
    ],
)
def test_the_key_item_decides_how_keys_are_checked(
    code: str, name: str, data_type: str, kind: str
) -> None:
    assert rules.key_kind(code, name, data_type) == kind


@pytest.mark.parametrize(
    ("kind", "value", "fails"),
    [
        (rules.RESIDENT_ID, SELLER, False),
        (rules.RESIDENT_ID, "330106197803154218", True),  # check digit (GB 11643)
        (rules.RESIDENT_ID, "33010619780315421", True),  # 17 characters
        (rules.RESIDENT_ID, "330106197802304217", True),  # 30 February
        (rules.USCC, "91330108MA2KC7XU5W", False),
        (rules.USCC, "91330108MA2KC7XU5X", True),  # check character (GB 32100)
        ("integer", "42", False),
        ("integer", "4.2", True),
        ("number", "89.37", False),
        ("number", "8e3", True),
        ("date", "2016-08-18", False),
        ("date", "2016-02-30", True),
        ("date", "20160818", True),
        ("datetime", "2026-10-08T08:31:00", False),
        ("datetime", "yesterday", True),
        ("boolean", "true", False),
        ("boolean", "yes", True),
        ("text", "浙(2016)杭州市不动产权第0051234号", False),
        ("text", "", True),
        ("text", "x" * 129, True),
        ("text", "a\x00b", True),
        ("text", " padded", True),
    ],
)
def test_key_checks(kind: str, value: str, fails: bool) -> None:
    assert (rules.key_problem(kind, value) is not None) is fails


def test_key_problems_name_each_bad_key_and_repeats() -> None:
    problems = rules.key_problems(rules.RESIDENT_ID, [SELLER, "330106197803154218", SELLER])
    assert problems == [
        {"field": "keys[1]", "message": "check digit does not match (GB 11643)"},
        {"field": "keys[2]", "message": "listed twice"},
    ]


def test_item_problems_refuse_the_wildcard_unknown_items_and_repeats() -> None:
    problems = rules.item_problems(
        ["name", "*", "salary", "name"], ["name", "address"], resource="301001002/000002"
    )
    assert [p["field"] for p in problems] == ["items[1]", "items[2]", "items[3]"]
    assert '"*" is not accepted' in problems[0]["message"]
    assert "no item 'salary'" in problems[1]["message"]
    assert problems[2]["message"] == "listed twice"


def test_values_become_json_native_and_keys_read_as_sent() -> None:
    assert rules.json_value(Decimal("89.370")) == "89.370"
    assert rules.json_value(89.37) == "89.37"
    assert rules.json_value(date(2016, 8, 18)) == "2016-08-18"
    assert rules.json_value(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
    assert rules.json_value(b"\x89PNG") == base64.b64encode(b"\x89PNG").decode()
    assert rules.json_value(True) is True and rules.json_value(95) == 95
    assert rules.json_value(None) is None and rules.json_value(float("nan")) is None
    assert (
        rules.key_text(Decimal("42")) == "42" and rules.key_text(date(2016, 8, 18)) == "2016-08-18"
    )


def test_the_records_hash_is_over_canonical_json_and_has_a_digest_header() -> None:
    records = [{"values": {"name": "陈建国", "a": 1}, "key": SELLER}]
    canonical = '[{"key":"330106197803154217","values":{"a":1,"name":"陈建国"}}]'
    assert rules.canonical_json(records) == canonical.encode("utf-8")
    digest = rules.records_sha256(records)
    assert digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    # Whoever parses the JSON and re-serialises it canonically gets the same digest.
    assert rules.records_sha256(json.loads(json.dumps(records))) == digest
    header = rules.digest_header(digest)
    assert header == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"


# The masking table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "data_type", "kind"),
    [
        ("id_number", "公民身份号码", "C", "resident_id"),
        ("seller_id_numbers", "出卖人证件号码", "C", "resident_id"),
        ("mobile", "联系电话", "C", "phone"),
        ("name", "姓名", "C", "person_name"),
        ("owner_name", "权利人", "C", "person_name"),
        ("address", "住址", "C", "address"),
        ("location", "坐落", "C", "address"),
        ("birth_date", "出生日期", "D", "date"),
        ("birth_datetime", "出生时间", "T", "datetime"),
        ("tax_amount", "实缴契税税额（元）", "Y", "number"),
        ("pension_months", "累计缴费月数", "I", "number"),
        ("photo", "证件照片", "B", "binary"),
        ("cancelled", "是否已注销", "L", "boolean"),
        ("bank_account", "金融账户", "C", "text"),
    ],
)
def test_mask_kind_by_item(code: str, name: str, data_type: str, kind: str) -> None:
    assert mask_kind(code, name, data_type) == kind


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("resident_id", "330102199003071234", "330102********1234"),
        ("resident_id", "330106197803154217、330102198007222628",
         "330106********4217、330102********2628"),
        ("phone", "13812345678", "138****5678"),
        ("person_name", "张三", "张*"),
        ("person_name", "欧阳娜娜", "欧***"),
        ("person_name", "陈建国、沈丽华", "陈**、沈**"),
        ("address", "浙江省杭州市西湖区文三路138号翠苑3幢2单元502室", "浙江省杭州市西湖区****"),
        ("address", "文三路138号", "文三****"),
        ("date", "1978-03-15", "1978-**-**"),
        ("datetime", "2026-10-08T08:31:00", "2026-**-**T**:**:**"),
        ("number", "3280000.00", "***"),
        ("number", 95, "***"),
        ("boolean", True, "*"),
        ("binary", "iVBORw0KGgo=", None),
        ("text", "6222021234567890123", "6222***********0123"),
        ("text", "已婚", "已*"),
        ("text", "X", "*"),
        ("resident_id", None, None),
    ],
)  # fmt: skip
def test_the_masking_table(kind: str, value: object, masked: object) -> None:
    assert mask_value(value, kind) == masked


def test_masked_values_never_reveal_more_than_their_rule_keeps() -> None:
    value = "330102199003071234"
    shown = masking.mask_resident_id(value)
    assert len(shown) == len(value) and shown.count("*") == 8
    assert masking.mask_text("ab") == "a*"


def test_a_masked_grant_masks_from_sensitivity_2_and_a_clear_grant_masks_nothing() -> None:
    assert not should_mask(1, True)
    assert should_mask(2, True) and should_mask(3, True) and should_mask(4, True)
    assert not any(should_mask(level, False) for level in (1, 2, 3, 4))
