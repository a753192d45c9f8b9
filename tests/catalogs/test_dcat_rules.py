"""The DCAT mappings and the Table Schema builder, as pure functions (no database)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from catalogs.dcat import rules
from catalogs.dcat.build import build_catalog
from catalogs.dcat.table_schema import build_table_schema
from catalogs.departments.models import Department
from catalogs.resources.models import Resource, ResourceItem

# Field types of Table Schema v1 (https://specs.frictionlessdata.io/table-schema/#types-and-formats).
TABLE_SCHEMA_TYPES = {
    "string", "number", "integer", "boolean", "object", "array", "date", "time",
    "datetime", "year", "yearmonth", "duration", "geopoint", "geojson", "any",
}  # fmt: skip
NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def resource(code: str, *, status: str = "published", keys: tuple[str, ...] = ("a",)) -> Resource:
    """Build an unsaved entry with items ``a`` and ``b`` (the given ones as lookup keys)."""
    entry = Resource(
        code=code,
        category_code=code.split("/")[0],
        name=f"资源 {code}",
        summary="",
        format="database",
        share_type="unconditional",
        share_method="api",
        open_type="closed",
        update_cycle="daily",
        published_on=date(2026, 1, 15),
        related_codes=[],
        status=status,
        version_major=2,
        version_minor=1,
        created_at=NOW,
        updated_at=NOW,
        items=[
            ResourceItem(code=c, name=c.upper(), data_type="C", sensitivity=2, is_key=c in keys)
            for c in ("a", "b")
        ],
    )
    entry.provider = Department(code="zj-gat", name="浙江省公安厅", level="province")
    return entry


@pytest.mark.parametrize(
    ("share_type", "right"),
    [("unconditional", "RESTRICTED"), ("conditional", "RESTRICTED"), ("none", "NON_PUBLIC"),
     ("bogus", "NON_PUBLIC")],
)  # fmt: skip
def test_access_rights_fail_closed(share_type: str, right: str) -> None:
    expected = f"http://publications.europa.eu/resource/authority/access-right/{right}"
    assert rules.access_right_iri(share_type) == expected


@pytest.mark.parametrize(
    ("cycle", "frequency"),
    [("realtime", "UPDATE_CONT"), ("daily", "DAILY"), ("weekly", "WEEKLY"),
     ("monthly", "MONTHLY"), ("quarterly", "QUARTERLY"), ("yearly", "ANNUAL")],
)  # fmt: skip
def test_update_cycles_map_to_eu_frequencies(cycle: str, frequency: str) -> None:
    expected = f"http://publications.europa.eu/resource/authority/frequency/{frequency}"
    assert rules.frequency_iri(cycle) == expected
    assert rules.frequency_iri("fortnightly") is None


def test_every_guide_data_type_maps_to_a_table_schema_type() -> None:
    expected = {"C": "string", "N": "number", "Y": "number", "D": "date", "T": "datetime",
                "L": "boolean", "M": "string", "G": "any", "B": "string", "I": "integer",
                "F": "number"}  # fmt: skip
    assert {code: rules.field_type(code)[0] for code in expected} == expected
    assert all(rules.field_type(code)[0] in TABLE_SCHEMA_TYPES for code in expected)
    assert rules.field_type("B")[1] == "binary"


def test_table_schema_primary_key_follows_the_key_items() -> None:
    composite = build_table_schema(resource("301001/000001", keys=("a", "b")))
    assert composite["primaryKey"] == ["a", "b"]
    assert [f["name"] for f in composite["fields"]] == ["a", "b"]
    assert all(f["sensitivity"] == 2 for f in composite["fields"])
    assert "primaryKey" not in build_table_schema(resource("301001/000002", keys=()))


def test_build_exports_only_published_entries_with_unique_nodes() -> None:
    entries = [resource("301001/000001"), resource("301001/000002", status="retired")]
    document = build_catalog(entries, base_url="https://hub.example/", now=NOW)
    ids = [node["@id"] for node in document["@graph"]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    datasets = [n for n in document["@graph"] if n["@type"] == "dcat:Dataset"]
    assert [d["dct:identifier"] for d in datasets] == ["301001/000001"]
    assert datasets[0]["@id"] == "https://hub.example/v1/catalog/resources/301001/000001"
    assert datasets[0]["dct:description"]["@value"] == "资源 301001/000001"  # empty 摘要
