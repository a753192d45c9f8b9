"""Conflicts between sources: normalisation, finding, and objections with the authority."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.identifiers import resident_id_check_digit
from exchange.applications.conflicts import (
    AUTHORITY,
    FACTS,
    Fetched,
    Found,
    find_conflicts,
    normalise,
    open_objections,
)
from exchange.core.settings import Settings
from exchange.demo.seed import SeedResult
from exchange.objections.models import DataObjection, ObjectionEvent

ID_CARD, HUKOU, MARRIAGE = "301001002/000002", "301001001/000001", "302001001/000001"
LICENCE, SEAL, DECLARATION = "305001001/000001", "301002001/000003", "305001002/000002"
PROPERTY, CONTRACT = "303001001/000001", "309001001/000001"
SELLER = "33010619780315421" + resident_id_check_digit("33010619780315421")
BUYER = "33010219850101123" + resident_id_check_digit("33010219850101123")
PROVINCE = Path(__file__).parents[2] / "exchange" / "demo" / "province.json"


def fetched(
    material: str,
    position: int,
    resource: str,
    values: dict[str, Any],
    *,
    key: str = SELLER,
    provider: str = "zj-gat",
    masked: frozenset[str] = frozenset(),
) -> Fetched:
    return Fetched(material, position, resource, provider, key, values, masked)


# ---- the tables ----------------------------------------------------------------------


def test_facts_and_authority_name_real_items_of_the_demo_catalogue() -> None:
    catalogue = {
        r["code"]: {i["code"] for i in r["items"]}
        for r in json.loads(PROVINCE.read_text(encoding="utf-8"))["resources"]
    }
    for fact, items in FACTS.items():
        for resource, item in items.items():
            assert item in catalogue[resource], (fact, resource, item)
    for fact, resources in AUTHORITY.items():
        assert set(resources) <= set(FACTS[fact]), fact


# ---- normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("张三", " 张 三\u3000", "name"),
        ("阿卜杜·热合曼", "阿卜杜•热合曼", "name"),
        ("阿卜杜·热合曼", "阿卜杜．热合曼", "name"),
        ("杭州市西湖区文三路１２号", "杭州市西湖区文三路12号", "text"),
        ("Room 3B", "room3b", "text"),
        ("1978-03-15", "19780315", "date"),
        ("1978-03-15", "1978年3月15日", "date"),
        ("1978-03-15", "1978/3/15", "date"),
        ("1978-03-15", "1978-03-15T00:00:00", "date"),
        ("1978-03-15", "1978-03-15 08:00:00+08:00", "date"),
        ("1978-03-15", "１９７８年 ３月 １５日", "date"),
        ("男", "1", "gender"),
        ("女", "F", "gender"),
        ("89.50", "89.5", "number"),
        ("1,089.50", "1089.5", "number"),
        ("张三、李四", ["李四", "张三"], "names"),
        ("张三,李四", "李四；张三", "names"),
    ],
)
def test_spellings_of_one_value_normalise_alike(a: Any, b: Any, kind: str) -> None:
    assert normalise(a, kind) == normalise(b, kind)


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("张三", "张叁", "name"),
        ("1978-03-15", "1978-03-16", "date"),
        ("男", "女", "gender"),
        ("89.5", "89.6", "number"),
        ("张三、李四", "张三", "names"),
    ],
)
def test_different_values_stay_different(a: Any, b: Any, kind: str) -> None:
    assert normalise(a, kind) != normalise(b, kind)


def test_absurd_numbers_are_compared_as_text() -> None:
    assert normalise("1e999999999", "number") == "1e999999999"
    assert normalise("NaN", "number") == "nan"


def test_empty_values_are_nothing_to_compare() -> None:
    assert normalise(None) is None
    assert normalise("  \u3000") is None
    assert normalise([], "names") is None


KINDS = st.sampled_from(["text", "name", "date", "gender", "number", "names"])


@given(st.text(max_size=30), KINDS)
def test_normalising_is_idempotent(value: str, kind: str) -> None:
    once = normalise(value, kind)
    if once is not None and kind != "names":  # names re-split their joined form alike
        assert normalise(once, kind) == once


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20), st.text(" \t\u3000\n", max_size=3)
)
def test_whitespace_anywhere_does_not_matter(value: str, spaces: str) -> None:
    half = len(value) // 2
    assert normalise(spaces + value[:half] + spaces + value[half:] + spaces) == normalise(
        value
    ) or (normalise(value) is None and normalise(spaces + value + spaces) is None)


@given(st.integers(min_value=0, max_value=10**12))
def test_full_width_digits_equal_ascii_digits(n: int) -> None:
    full = "".join(chr(0xFF10 + int(d)) for d in str(n))
    assert normalise(full) == normalise(str(n))
    assert normalise(full, "number") == normalise(str(n), "number")


# ---- finding -------------------------------------------------------------------------


def test_agreeing_sources_are_no_conflict() -> None:
    found = find_conflicts(
        [
            fetched(
                "seller_id",
                0,
                ID_CARD,
                {"id_number": SELLER, "name": "张三", "address": "文三路１２号"},
            ),
            fetched(
                "seller_marital_status",
                4,
                MARRIAGE,
                {"id_number": SELLER, "name": " 张三"},
                provider="zj-mzt",
            ),
            fetched("household", 5, HUKOU, {"name": "张三", "household_address": "文三路 12 号"}),
        ]
    )
    assert found == []


def test_two_sources_disagreeing_on_a_name_make_one_found_with_the_id_card_authoritative() -> None:
    found = find_conflicts(
        [
            fetched(
                "seller_marital_status",
                0,
                MARRIAGE,
                {"id_number": SELLER, "name": "张叁"},
                provider="zj-mzt",
            ),
            fetched("seller_id", 1, ID_CARD, {"id_number": SELLER, "name": "张三", "address": "x"}),
            fetched("buyer_id", 2, ID_CARD, {"id_number": BUYER, "name": "李四"}, key=BUYER),
        ]
    )
    assert found == [
        Found(
            subject_key=SELLER,
            fact="name",
            values=[
                {
                    "material": "seller_marital_status",
                    "resource": MARRIAGE,
                    "provider": "zj-mzt",
                    "item": "name",
                    "subject_key": SELLER,
                    "value": "张叁",
                },
                {
                    "material": "seller_id",
                    "resource": ID_CARD,
                    "provider": "zj-gat",
                    "item": "name",
                    "subject_key": SELLER,
                    "value": "张三",
                },
            ],
            authoritative_resource=ID_CARD,
        )
    ]


def test_items_declared_the_same_fact_are_compared_address_and_household_address() -> None:
    [found] = find_conflicts(
        [
            fetched("household_register", 0, HUKOU, {"household_address": "杭州市上城区解放路1号"}),
            fetched("parents_id", 1, ID_CARD, {"address": "杭州市西湖区文三路12号"}),
        ]
    )
    assert found.fact == "address"
    assert [v["item"] for v in found.values] == ["household_address", "address"]
    assert found.authoritative_resource == ID_CARD


def test_values_are_kept_as_json_the_case_file_can_store() -> None:
    [found] = find_conflicts(
        [
            fetched("seller_id", 0, ID_CARD, {"birth_date": date(1978, 3, 15)}),
            fetched("household", 1, HUKOU, {"birth_date": "1978-03-16"}),
        ]
    )
    assert [v["value"] for v in found.values] == ["1978-03-15", "1978-03-16"]
    json.dumps(found.values)


def test_without_a_declared_authority_the_first_material_by_position_wins() -> None:
    [found] = find_conflicts(
        [
            fetched("b", 7, "306001001/000001", {"name": "王五"}, provider="zj-rlsbt"),
            fetched("a", 3, MARRIAGE, {"name": "王伍"}, provider="zj-mzt"),
        ]
    )
    assert found.authoritative_resource == MARRIAGE
    assert [v["material"] for v in found.values] == ["a", "b"]


def test_masked_values_are_never_compared() -> None:
    found = find_conflicts(
        [
            fetched("seller_id", 0, ID_CARD, {"name": "张*"}, masked=frozenset({"name"})),
            fetched("marriage", 1, MARRIAGE, {"name": "张三"}),
        ]
    )
    assert found == []


def test_different_subjects_are_not_compared() -> None:
    found = find_conflicts(
        [
            fetched("seller_id", 0, ID_CARD, {"name": "张三"}),
            fetched("buyer_id", 1, ID_CARD, {"name": "李四"}, key=BUYER),
        ]
    )
    assert found == []


def test_the_same_code_in_different_resources_is_not_assumed_the_same_fact() -> None:
    found = find_conflicts(
        [
            fetched(
                "property_cert", 0, PROPERTY, {"registered_on": "2019-05-01"}, key="浙(2019)1号"
            ),
            fetched(
                "mortgage_status",
                1,
                "303001002/000002",
                {"registered_on": "2020-02-02"},
                key="浙(2019)1号",
            ),
        ]
    )
    assert found == []


def test_the_same_resource_twice_compares_every_item() -> None:
    [found] = find_conflicts(
        [
            fetched("a", 0, ID_CARD, {"valid_until": "2030-01-01"}),
            fetched("b", 1, ID_CARD, {"valid_until": "2031-01-01"}),
        ]
    )
    assert found.fact == "valid_until"


def test_property_facts_across_the_certificate_and_the_contract() -> None:
    cert = "浙(2019)杭州市不动产权第0012345号"
    found = find_conflicts(
        [
            fetched(
                "property_cert",
                0,
                PROPERTY,
                {"owner_name": "张三、李四", "location": "文三路12号", "building_area": "89.50"},
                key=cert,
                provider="zj-zrzyt",
            ),
            fetched(
                "sale_contract",
                1,
                CONTRACT,
                {"seller_names": ["李四", "张三"], "location": "文三路12号", "building_area": 98.5},
                key=cert,
                provider="zj-zjt",
            ),
        ]
    )
    assert [(f.fact, f.authoritative_resource) for f in found] == [("building_area", PROPERTY)]
    assert [v["value"] for v in found[0].values] == ["89.50", 98.5]


def test_same_subject_links_an_organisations_keys() -> None:
    uscc, declaration = "91330106MA2B00001X", "ZJ-2026-000123"
    sources = [
        fetched(
            "name_declaration",
            0,
            DECLARATION,
            {"proposed_name": "杭州数跑科技有限公司"},
            key=declaration,
            provider="zj-scjgj",
        ),
        fetched(
            "business_license",
            1,
            LICENCE,
            {"company_name": "杭州数跑信息科技有限公司"},
            key=uscc,
            provider="zj-scjgj",
        ),
        fetched("seal_filing", 2, SEAL, {"unit_name": "杭州数跑信息科技有限公司"}, key=uscc),
    ]
    assert find_conflicts(sources) == []  # without the link, declaration ≠ licence subject
    [found] = find_conflicts(sources, same_subject=[[uscc, declaration]])
    assert found.fact == "company_name"
    assert found.authoritative_resource == LICENCE
    assert found.subject_key == uscc  # the key of the authoritative record
    assert len(found.values) == 3


# ---- objections ----------------------------------------------------------------------


def test_conflicts_open_objections_with_the_authoritative_provider(
    db: Session, demo_province: SeedResult, settings: Settings
) -> None:
    found = find_conflicts(
        [
            fetched(
                "seller_marital_status",
                0,
                MARRIAGE,
                {"id_number": SELLER, "name": "张叁", "address": "x"},
                provider="zj-mzt",
            ),
            fetched(
                "seller_id",
                1,
                ID_CARD,
                {"id_number": SELLER, "name": "张三", "gender": "男", "birth_date": "1978-03-15"},
            ),
            fetched("household", 2, HUKOU, {"gender": "2", "birth_date": "19780315"}),
        ]
    )
    assert [f.fact for f in found] == ["name", "gender"]
    ids = open_objections(
        db,
        found=found,
        case_number="BJ330000-20261127-000042",
        window_department="zj-zrzyt",
        settings=settings,
    )
    db.commit()
    assert len(ids) == 2 and all(ids)
    objections = {o.id: o for o in db.scalars(select(DataObjection))}
    name = objections[ids[0]]  # type: ignore[index]
    assert name.provider.code == "zj-gat"  # the 居民身份证 resource's provider
    assert name.resource.code == ID_CARD
    assert name.subject_key == SELLER and name.key_item == "id_number"
    assert name.items == ["name"]
    assert name.source == "conflict" and name.raised_by == "hub:conflicts"
    assert name.case_id == "BJ330000-20261127-000042"
    assert name.raiser_department is not None and name.raiser_department.code == "zj-zrzyt"
    assert "张叁" in name.description and "张三" in name.description
    assert "婚姻登记信息（浙江省民政厅，材料 seller_marital_status）为“张叁”" in name.description
    assert "居民身份证信息（浙江省公安厅，材料 seller_id）为“张三”" in name.description
    assert "BJ330000-20261127-000042" in name.description
    assert objections[ids[1]].items == ["gender"]  # type: ignore[index]
    events = db.scalars(select(ObjectionEvent).where(ObjectionEvent.objection_id == ids[0])).all()
    assert [e.action for e in events] == ["raised"]

    # The same conflict found again (a retry, a second application) reuses the open one.
    again = open_objections(
        db,
        found=found[:1],
        case_number="BJ330000-20261127-000043",
        window_department="zj-zrzyt",
        settings=settings,
    )
    db.commit()
    assert again == ids[:1]
    assert len(db.scalars(select(DataObjection)).all()) == 2


def test_the_key_item_follows_the_subject_of_a_two_key_resource(
    db: Session, demo_province: SeedResult, settings: Settings
) -> None:
    mother = SELLER
    [found] = find_conflicts(
        [
            fetched(
                "birth_certificate",
                0,
                "308001001/000001",
                {"mother_name": "王方"},
                key=mother,
                provider="zj-wjw",
            ),
            fetched(
                "parents_marriage", 1, MARRIAGE, {"name": "王芳"}, key=mother, provider="zj-mzt"
            ),
        ]
    )
    assert found.authoritative_resource == "308001001/000001"  # no authority declared: first
    [oid] = open_objections(
        db,
        found=[found],
        case_number="BJ330000-20261127-000044",
        window_department="zj-wjw",
        settings=settings,
    )
    objection = db.get(DataObjection, oid)
    assert objection is not None
    assert objection.key_item == "mother_id_number"  # not birth_cert_no, the first key item
    assert objection.items == ["mother_name"] and objection.provider.code == "zj-wjw"


def test_what_cannot_be_opened_is_none_and_logged(
    db: Session, demo_province: SeedResult, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = Found(
        "x",
        "name",
        [
            {
                "material": "m",
                "resource": "999/1",
                "provider": "p",
                "item": "name",
                "subject_key": "x",
                "value": "a",
            }
        ],
        "999/1",
    )
    bad_key = Found(
        "not-an-id",
        "name",
        [
            {
                "material": "m",
                "resource": ID_CARD,
                "provider": "zj-gat",
                "item": "name",
                "subject_key": "not-an-id",
                "value": "a",
            }
        ],
        ID_CARD,
    )
    with caplog.at_level(logging.WARNING, logger="datarun.applications.conflicts"):
        ids = open_objections(
            db,
            found=[unknown, bad_key],
            case_number="BJ1",
            window_department="zj-zrzyt",
            settings=settings,
        )
    assert ids == [None, None]
    assert "no resource 999/1" in caplog.text and "not a valid resident ID" in caplog.text
    assert db.scalars(select(DataObjection)).all() == []
