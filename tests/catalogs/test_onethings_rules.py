"""The material-elimination report (材料免提交) and material checks, as pure rules.

``FakeSupply`` stands in for the hub's connector bindings and grants, which live outside the
catalogue (the catalogue only sees the ``SupplyChecks`` protocol).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from catalogs.onethings.rules import ResourceFacts, eliminate, material_problems
from catalogs.onethings.schemas import MaterialIn, MaterialRead


@dataclass
class FakeSupply:
    bound: set[str] = field(default_factory=set)
    grants: set[tuple[str, str, str]] = field(default_factory=set)  # consumer, resource, purpose
    asked: list[tuple[str, str, list[str], str]] = field(default_factory=list)

    def is_bound(self, resource_code: str) -> bool:
        return resource_code in self.bound

    def has_grant(self, consumer: str, resource_code: str, items: list[str], purpose: str) -> bool:
        self.asked.append((consumer, resource_code, items, purpose))
        return (consumer, resource_code, purpose) in self.grants


HUKOU = ResourceFacts(
    code="301001001/000001",
    name="居民户籍信息",
    provider="zj-gat",
    status="published",
    share_type="unconditional",
    legal_basis=None,
    item_codes=frozenset({"name", "id_number", "address"}),
)


def pullable(code: str = "seller_id", **kw: object) -> MaterialRead:
    values: dict[str, object] = {
        "code": code,
        "name": "卖方身份证明",
        "kind": "pullable",
        "resource_code": HUKOU.code,
        "items": ["name", "id_number"],
        "key_identifier": "resident_id",
        "service_item": "330000-GA-001",
    }
    values.update(kw)
    return MaterialRead.model_validate(values)


def submitted(code: str = "contract", **kw: object) -> MaterialRead:
    values: dict[str, object] = {"code": code, "name": "买卖合同", "kind": "submitted"}
    values.update(kw)
    return MaterialRead.model_validate(values)


def report_for(material: MaterialRead, resource: ResourceFacts | None, supply: FakeSupply):
    resources = {resource.code: resource} if resource else {}
    return eliminate([material], resources, supply, "zj-gat", one_thing="esf-transfer")


def test_bound_and_granted_resource_is_pulled() -> None:
    supply = FakeSupply(bound={HUKOU.code}, grants={("zj-gat", HUKOU.code, "330000-GA-001")})
    entry = report_for(pullable(), HUKOU, supply).entries[0]
    assert entry.outcome == "pulled" and entry.reason is None
    assert entry.resource_name == "居民户籍信息" and entry.provider == "zj-gat"


def test_submitted_material_is_demanded_by_nature() -> None:
    entry = report_for(submitted(minor=True), None, FakeSupply()).entries[0]
    assert (entry.outcome, entry.reason) == ("demanded", "submitted_by_nature")
    assert entry.minor is True and entry.commitment_allowed is False


def test_resource_missing_from_catalogue() -> None:
    entry = report_for(pullable(resource_code="302001/000009"), None, FakeSupply()).entries[0]
    assert entry.reason == "no_catalogue_resource"
    assert "302001/000009" in entry.detail


@pytest.mark.parametrize("status", ["draft", "deprecated", "retired"])
def test_unpublished_resource_is_demanded(status: str) -> None:
    resource = ResourceFacts(**{**HUKOU.__dict__, "status": status})
    supply = FakeSupply(bound={HUKOU.code}, grants={("zj-gat", HUKOU.code, "330000-GA-001")})
    entry = report_for(pullable(), resource, supply).entries[0]
    assert entry.reason == "resource_not_published" and status in entry.detail


def test_not_shareable_resource_cites_its_legal_basis() -> None:
    basis = "《中华人民共和国居民身份证法》第六条"
    resource = ResourceFacts(**{**HUKOU.__dict__, "share_type": "none", "legal_basis": basis})
    entry = report_for(pullable(), resource, FakeSupply(bound={HUKOU.code})).entries[0]
    assert entry.reason == "not_shareable"
    assert basis in entry.detail and "不予共享" in entry.detail


def test_unknown_items_are_listed() -> None:
    material = pullable(items=["name", "blood_type", "shoe_size"])
    entry = report_for(material, HUKOU, FakeSupply(bound={HUKOU.code})).entries[0]
    assert entry.reason == "unknown_items"
    assert entry.missing_items == ["blood_type", "shoe_size"]


def test_no_connector_bound() -> None:
    supply = FakeSupply(grants={("zj-gat", HUKOU.code, "330000-GA-001")})
    entry = report_for(pullable(), HUKOU, supply).entries[0]
    assert entry.reason == "no_connector"


def test_no_grant_for_this_purpose() -> None:
    # A grant for another purpose does not count.
    supply = FakeSupply(bound={HUKOU.code}, grants={("zj-gat", HUKOU.code, "330000-MZ-009")})
    entry = report_for(pullable(), HUKOU, supply).entries[0]
    assert entry.reason == "no_grant"
    assert supply.asked == [("zj-gat", HUKOU.code, ["name", "id_number"], "330000-GA-001")]


def test_purpose_falls_back_to_the_one_thing_code() -> None:
    supply = FakeSupply(bound={HUKOU.code}, grants={("zj-gat", HUKOU.code, "esf-transfer")})
    entry = report_for(pullable(service_item=None), HUKOU, supply).entries[0]
    assert entry.outcome == "pulled"


def test_the_most_fundamental_reason_wins() -> None:
    # Draft, 不予共享, unknown items, unbound and ungranted all at once: "not published" wins.
    resource = ResourceFacts(
        **{**HUKOU.__dict__, "status": "draft", "share_type": "none", "legal_basis": "x"}
    )
    entry = report_for(pullable(items=["nope"]), resource, FakeSupply()).entries[0]
    assert entry.reason == "resource_not_published"
    resource = ResourceFacts(**{**HUKOU.__dict__, "share_type": "none", "legal_basis": "x"})
    entry = report_for(pullable(items=["nope"]), resource, FakeSupply()).entries[0]
    assert entry.reason == "not_shareable"
    entry = report_for(pullable(items=["nope"]), HUKOU, FakeSupply()).entries[0]
    assert entry.reason == "unknown_items"


def test_summary_counts_and_rate() -> None:
    supply = FakeSupply(bound={HUKOU.code}, grants={("zj-gat", HUKOU.code, "330000-GA-001")})
    materials = [
        pullable("seller_id"),
        pullable("buyer_id"),
        pullable("cert", resource_code="302001/000009", minor=True),
        submitted("contract", commitment_allowed=True),
        submitted("photo", minor=True, commitment_allowed=True),
    ]
    report = eliminate(materials, {HUKOU.code: HUKOU}, supply, "zj-gat", one_thing="esf")
    assert [e.outcome for e in report.entries] == [
        "pulled",
        "pulled",
        "demanded",
        "demanded",
        "demanded",
    ]
    summary = report.summary
    assert (summary.total, summary.pulled, summary.demanded) == (5, 2, 3)
    assert (summary.demanded_minor, summary.demanded_commitment) == (2, 2)
    assert summary.by_reason == {"no_catalogue_resource": 1, "submitted_by_nature": 2}
    assert report.elimination_rate == 0.4
    assert report.consumer == "zj-gat" and report.one_thing == "esf"


def test_empty_one_thing_has_no_rate() -> None:
    report = eliminate([], {}, FakeSupply(), "zj-gat", one_thing="empty")
    assert report.summary.total == 0 and report.elimination_rate is None


def test_material_problems_name_each_field() -> None:
    materials = [
        MaterialIn(code="a", name="A", kind="pullable", resource_code="bad", items=[]),
        MaterialIn(code="a", name="B", kind="submitted", items=["name"], service_item="X-9"),
        MaterialIn(
            code="c",
            name="C",
            kind="pullable",
            resource_code="301001001/000001",
            items=["name", "name"],
            key_identifier="resident_id",
        ),
    ]
    fields = {p["field"] for p in material_problems(materials, ["GA-1", "GA-1"])}
    assert fields == {
        "service_items[1]",
        "materials[0].resource_code",
        "materials[0].items",
        "materials[0].key_identifier",
        "materials[1].code",
        "materials[1].service_item",
        "materials[1].items",
        "materials[2].items[1]",
    }
