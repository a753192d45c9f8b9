"""Conflicts (数据冲突): two sources disagreeing on one fact of one subject, and objections.

After the fan-out, the pulled evidence of an application is compared: for one subject (the
same subject key, e.g. one person's 公民身份号码) the same fact read from several sources
must agree once normalised (NFKC, whitespace, case, full-width digits, date and gender
spellings). Which items carry the same fact is declared in ``FACTS``; the same item code in
*different* resources is not assumed to mean the same thing (``registered_on`` of a
mortgage is not that of the property), only items listed under one fact are compared across
resources. Masked values are never compared. Each disagreement is one ``Found``; its
authoritative source comes from ``AUTHORITY`` (else the first material by position), and
``open_objections`` opens a data objection (数据异议, source ``conflict``) with that source's
provider, with the application's number as the case id.

The tables of facts and authorities, and the normalisation, are in ``facts``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from catalogs.identifiers import is_resident_id, is_uscc
from exchange.applications.facts import (
    AUTHORITY,
    FACTS,
    KINDS,
    LABELS,
    fact_of,
    normalise,
    normalise_text,
)
from exchange.core.errors import DomainError
from exchange.core.settings import Settings
from exchange.objections import repository as objections_repo
from exchange.objections import rules as objection_rules
from exchange.objections.service import open_objection

__all__ = [
    "AUTHORITY",
    "FACTS",
    "KINDS",
    "LABELS",
    "RAISED_BY",
    "Fetched",
    "Found",
    "fact_of",
    "find_conflicts",
    "normalise",
    "normalise_text",
    "open_objections",
]

log = logging.getLogger("datarun.applications.conflicts")

RAISED_BY = "hub:conflicts"


@dataclass(frozen=True)
class Fetched:
    """The evidence one material pulled: its items' values for one subject."""

    material: str
    position: int
    resource: str
    provider: str
    subject_key: str
    values: Mapping[str, Any]
    masked: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Found:
    """Sources disagreeing on one fact of one subject (every source's value listed)."""

    subject_key: str
    fact: str
    values: list[dict[str, Any]]  # [{"material","resource","provider","value","item",…}]
    authoritative_resource: str


# ---- finding ---------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Return the value as the case file's JSON can keep it (dates ISO, decimals as text)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _subject_groups(
    fetched: Sequence[Fetched], same_subject: Iterable[Iterable[str]]
) -> dict[str, str]:
    """Map each normalised subject key to its group's representative (union of same_subject)."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for f in fetched:
        find(normalise_text(f.subject_key))
    for group in same_subject:
        keys = [normalise_text(k) for k in group if k]
        for other in keys[1:]:
            a, b = find(keys[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {k: find(k) for k in list(parent)}


def find_conflicts(
    fetched: Sequence[Fetched], *, same_subject: Iterable[Iterable[str]] = ()
) -> list[Found]:
    """Return one ``Found`` per (subject, fact) whose sources disagree once normalised.

    ``same_subject`` optionally names groups of subject keys that denote one subject (e.g.
    an organisation's 统一社会信用代码 and its 名称申报编号, from the applicant's
    identifiers), so facts read under either key are compared.
    """
    groups = _subject_groups(fetched, same_subject)
    buckets: dict[tuple[str, str, str], list[tuple[Fetched, str, Any, str]]] = {}
    for f in sorted(fetched, key=lambda x: x.position):
        subject = groups[normalise_text(f.subject_key)]
        for item, value in f.values.items():
            if item in f.masked:
                continue
            fact = fact_of(f.resource, item)
            # Undeclared items are compared only within one resource (same code, same meaning).
            scope = "" if fact else f.resource
            fact = fact or item
            comparable = normalise(value, KINDS.get(fact, "text"))
            if comparable is None:
                continue
            buckets.setdefault((subject, fact, scope), []).append((f, item, value, comparable))
    found: list[Found] = []
    for (_, fact, _), entries in buckets.items():
        if len({c for *_, c in entries}) < 2:
            continue
        values = [
            {
                "material": f.material,
                "resource": f.resource,
                "provider": f.provider,
                "item": item,
                "subject_key": f.subject_key,
                "value": _jsonable(value),
            }
            for f, item, value, _ in entries
        ]
        present = [v["resource"] for v in values]
        authority = next((r for r in AUTHORITY.get(fact, ()) if r in present), present[0])
        subject_key = next(v["subject_key"] for v in values if v["resource"] == authority)
        found.append(Found(subject_key, fact, values, authority))
    return found


# ---- objections ------------------------------------------------------------------------


def _key_item(key_items: Sequence[str], subject_key: str) -> str | None:
    """Return the key item a subject key fits (resident ID, USCC), else the first key item."""
    kind = (
        "resident_id" if is_resident_id(subject_key) else "uscc" if is_uscc(subject_key) else None
    )
    for item in key_items:
        if kind and objection_rules.key_kind(item) == kind:
            return item
    return key_items[0] if key_items else None


def _shown(value: Any, limit: int = 120) -> str:
    text = "、".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(found: Found, case_number: str, names: Mapping[str, tuple[str, str]]) -> str:
    """Say in Chinese which sources disagree on what (resource, provider, material, value)."""
    label = LABELS.get(found.fact, found.fact)

    def name(code: str, provider: str) -> tuple[str, str]:
        return names.get(code, (code, provider))

    said = "；".join(
        f"{name(v['resource'], v['provider'])[0]}（{name(v['resource'], v['provider'])[1]}，"
        f"材料 {v['material']}）为“{_shown(v['value'])}”"
        for v in found.values
    )
    authority = name(found.authoritative_resource, "")[0]
    return (
        f"办件 {case_number} 核验时发现同一对象的{label}在不同来源间不一致：{said}。"
        f"以{authority}为准，请提供部门核实；如有误请更正。"
    )


def open_objections(
    session: Session,
    *,
    found: Sequence[Found],
    case_number: str,
    window_department: str,
    settings: Settings,
) -> list[int | None]:
    """Open (or reuse) one objection per conflict with the authoritative source's provider.

    Returns the objection ids in the order of ``found``; None where none could be opened
    (e.g. the authoritative resource is not in the catalogue or lacks the item), logged.
    """
    ids: list[int | None] = []
    for conflict in found:
        resource = objections_repo.resource_by_code(session, conflict.authoritative_resource)
        if resource is None:
            log.warning(
                "conflict on %s in %s: no resource %s",
                conflict.fact,
                case_number,
                conflict.authoritative_resource,
            )
            ids.append(None)
            continue
        names = {conflict.authoritative_resource: (resource.name, resource.provider.name)}
        for v in conflict.values:
            if v["resource"] not in names:
                other = objections_repo.resource_by_code(session, v["resource"])
                if other is not None:
                    names[v["resource"]] = (other.name, other.provider.name)
        item = next(
            v["item"] for v in conflict.values if v["resource"] == conflict.authoritative_resource
        )
        try:
            objection = open_objection(
                session,
                resource_code=conflict.authoritative_resource,
                subject_key=conflict.subject_key,
                key_item=_key_item(
                    [i.code for i in resource.items if i.is_key], conflict.subject_key
                ),
                items=[item],
                description=_describe(conflict, case_number, names),
                raised_by=RAISED_BY,
                settings=settings,
                source="conflict",
                raiser_department=window_department,
                case_id=case_number,
                reuse_open=True,
            )
        except DomainError as exc:
            log.warning(
                "conflict on %s in %s: no objection opened: %s",
                conflict.fact,
                case_number,
                exc.detail,
            )
            ids.append(None)
            continue
        ids.append(objection.id)
    return ids
