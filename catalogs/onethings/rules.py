"""Pure rules for one-things: material consistency and the material-elimination report (材料免提交).

Nothing here touches a session. The catalogue knows nothing of grants or connectors, so the
report asks a ``SupplyChecks`` (provided by the hub) whether a resource has a connector bound
and whether a consumer holds a grant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from catalogs.onethings.schemas import (
    EliminationEntry,
    EliminationReport,
    EliminationSummary,
    MaterialIn,
    MaterialRead,
)
from catalogs.resources.rules import validate_code

SHARE_TYPE_LABELS = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}


def _problem(field_name: str, message: str) -> dict[str, Any]:
    return {"field": field_name, "message": message}


def material_problems(
    materials: Sequence[MaterialIn], service_items: Sequence[str]
) -> list[dict[str, Any]]:
    """Return every cross-field problem of a one-thing's service items and materials."""
    problems: list[dict[str, Any]] = []
    seen_items: set[str] = set()
    for i, code in enumerate(service_items):
        if code in seen_items:
            problems.append(_problem(f"service_items[{i}]", f"service item {code} is listed twice"))
        seen_items.add(code)
    seen_codes: dict[str, int] = {}
    for i, material in enumerate(materials):
        where = f"materials[{i}]"
        if material.code in seen_codes:
            problems.append(
                _problem(
                    f"{where}.code",
                    f"material code {material.code} is already used by "
                    f"materials[{seen_codes[material.code]}]",
                )
            )
        else:
            seen_codes[material.code] = i
        if material.service_item is not None and material.service_item not in seen_items:
            problems.append(
                _problem(
                    f"{where}.service_item",
                    f"{material.service_item} is not one of this one-thing's service_items",
                )
            )
        if material.kind == "pullable":
            problems += _pullable_problems(where, material)
        else:
            problems += _submitted_problems(where, material)
    return problems


def _pullable_problems(where: str, material: MaterialIn) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if material.resource_code is None:
        problems.append(_problem(f"{where}.resource_code", "a pullable material names a resource"))
    elif (code_problem := validate_code(material.resource_code)) is not None:
        problems.append(_problem(f"{where}.resource_code", code_problem))
    if not material.items:
        problems.append(_problem(f"{where}.items", "a pullable material names at least one item"))
    for j, item in enumerate(material.items):
        if item in material.items[:j]:
            problems.append(_problem(f"{where}.items[{j}]", f"item {item} is listed twice"))
    if material.key_identifier is None:
        problems.append(
            _problem(
                f"{where}.key_identifier",
                "a pullable material names the applicant identifier it is looked up by",
            )
        )
    return problems


def _submitted_problems(where: str, material: MaterialIn) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if material.resource_code is not None:
        problems.append(
            _problem(f"{where}.resource_code", "a submitted material is not pulled from a resource")
        )
    if material.items:
        problems.append(_problem(f"{where}.items", "a submitted material names no items"))
    if material.key_identifier is not None:
        problems.append(
            _problem(f"{where}.key_identifier", "a submitted material has no lookup key")
        )
    return problems


@dataclass(frozen=True)
class ResourceFacts:
    """What the report needs to know about one catalogue resource."""

    code: str
    name: str
    provider: str
    status: str  # draft | published | deprecated | retired
    share_type: str  # unconditional | conditional | none
    legal_basis: str | None
    item_codes: frozenset[str] = field(default_factory=frozenset)


class SupplyChecks(Protocol):
    """The hub's answers about supply, which the catalogue itself cannot know."""

    def is_bound(self, resource_code: str) -> bool:
        """Return whether a connector is bound to the resource."""
        ...

    def has_grant(self, consumer: str, resource_code: str, items: list[str], purpose: str) -> bool:
        """Return whether ``consumer`` holds a current grant for ``items`` for ``purpose``."""
        ...


def eliminate(
    materials: Sequence[MaterialRead],
    resources_by_code: Mapping[str, ResourceFacts],
    supply: SupplyChecks,
    consumer: str,
    *,
    one_thing: str,
) -> EliminationReport:
    """Decide, for each material, whether the hub pulls it or the applicant must bring it.

    The grant purpose of a material is its service item, or the one-thing's code when the
    material belongs to no single service item. The most fundamental reason wins: no
    resource, not published, 不予共享, unknown items, no connector, no grant.
    """
    entries = [
        _entry(m, resources_by_code, supply, consumer, m.service_item or one_thing)
        for m in materials
    ]
    return EliminationReport(
        one_thing=one_thing,
        consumer=consumer,
        entries=entries,
        summary=summarise(entries),
        elimination_rate=elimination_rate(entries),
    )


def _entry(
    material: MaterialRead,
    resources_by_code: Mapping[str, ResourceFacts],
    supply: SupplyChecks,
    consumer: str,
    purpose: str,
) -> EliminationEntry:
    base: dict[str, Any] = {
        "material": material.code,
        "name": material.name,
        "kind": material.kind,
        "service_item": material.service_item,
        "resource_code": material.resource_code,
        "items": list(material.items),
        "key_identifier": material.key_identifier,
        "minor": material.minor,
        "commitment_allowed": material.commitment_allowed,
    }

    def demanded(reason: str, detail: str, **extra: Any) -> EliminationEntry:
        return EliminationEntry(**base, **extra, outcome="demanded", reason=reason, detail=detail)

    if material.kind == "submitted":
        return demanded("submitted_by_nature", "submitted by the applicant: not a catalogue datum")
    code = material.resource_code or ""
    resource = resources_by_code.get(code)
    if resource is None:
        return demanded("no_catalogue_resource", f"resource {code} is not in the catalogue")
    found = {"resource_name": resource.name, "provider": resource.provider}
    label = f"resource {code} ({resource.name}, provided by {resource.provider})"
    if resource.status != "published":
        return demanded(
            "resource_not_published", f"{label} is {resource.status}, not published", **found
        )
    if resource.share_type == "none":
        basis = resource.legal_basis or "no legal basis cited"
        return demanded(
            "not_shareable", f"{label} is 不予共享 (not shared); legal basis: {basis}", **found
        )
    missing = [item for item in material.items if item not in resource.item_codes]
    if missing:
        return demanded(
            "unknown_items",
            f"{label} has no item(s) {', '.join(missing)}",
            missing_items=missing,
            **found,
        )
    if not supply.is_bound(code):
        return demanded("no_connector", f"no connector is bound to {label}", **found)
    if not supply.has_grant(consumer, code, list(material.items), purpose):
        return demanded(
            "no_grant",
            f"{consumer} holds no current grant for {', '.join(material.items)} of {code} "
            f"for purpose {purpose}",
            **found,
        )
    share = SHARE_TYPE_LABELS.get(resource.share_type, resource.share_type)
    return EliminationEntry(
        **base,
        **found,
        outcome="pulled",
        reason=None,
        detail=f"pulled from {label}, {share}, looked up by {material.key_identifier}",
    )


def summarise(entries: Iterable[EliminationEntry]) -> EliminationSummary:
    """Count a report's entries by outcome, by reason and by what the window may waive."""
    entries = list(entries)
    demanded = [e for e in entries if e.outcome == "demanded"]
    return EliminationSummary(
        total=len(entries),
        pulled=len(entries) - len(demanded),
        demanded=len(demanded),
        demanded_minor=sum(e.minor for e in demanded),
        demanded_commitment=sum(e.commitment_allowed for e in demanded),
        by_reason=dict(Counter(e.reason for e in demanded if e.reason)),
    )


def elimination_rate(entries: Sequence[EliminationEntry]) -> float | None:
    """Return the share of materials the hub pulls, or None when there are no materials."""
    if not entries:
        return None
    return round(sum(e.outcome == "pulled" for e in entries) / len(entries), 4)
