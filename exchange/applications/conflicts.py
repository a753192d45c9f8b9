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

FACTS (fact → resource → item), from the demo province's catalogue:

============== ============================================================================
name           居民身份证 name, 居民户籍 name, 婚姻登记 name (当事人姓名), 契税完税
               taxpayer_name, 个税 name, 社保参保 name, 社保卡 name, 医保 name, 新生儿医保
               newborn_name, 出生医学证明 mother_name (keyed by the mother), 预防接种 name,
               公积金 name, 低保 name, 殡葬火化 deceased_name
gender         居民身份证 gender, 居民户籍 gender
birth_date     居民身份证 birth_date, 居民户籍 birth_date
ethnicity      居民身份证 ethnicity, 居民户籍 ethnicity
address        居民身份证 address (住址), 居民户籍 household_address (户籍地址)
company_name   营业执照 company_name, 印章备案 unit_name, 名称自主申报 proposed_name
location       不动产权证书 location, 网签备案 location, 计税价格 location
building_area  不动产权证书 building_area, 网签备案 building_area, 计税价格 building_area
owner_names    不动产权证书 owner_name (权利人), 网签备案 seller_names (出卖人)
============== ============================================================================

AUTHORITY: person facts → 居民身份证 (301001002/000002), then 居民户籍; company_name →
营业执照 (305001001/000001), then 名称自主申报; property facts → 不动产登记 (303001001/000001).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from catalogs.identifiers import is_resident_id, is_uscc
from exchange.core.errors import DomainError
from exchange.core.settings import Settings
from exchange.objections import repository as objections_repo
from exchange.objections import rules as objection_rules
from exchange.objections.service import open_objection

log = logging.getLogger("datarun.applications.conflicts")

ID_CARD, HUKOU, MARRIAGE = "301001002/000002", "301001001/000001", "302001001/000001"
LICENCE, NAME_DECLARATION, SEAL = "305001001/000001", "305001002/000002", "301002001/000003"
PROPERTY, CONTRACT, ASSESSMENT = "303001001/000001", "309001001/000001", "304001001/000001"
RAISED_BY = "hub:conflicts"

# fact → {resource code → item code}: the items that state the same fact of the subject.
FACTS: dict[str, dict[str, str]] = {
    "name": {
        ID_CARD: "name",
        HUKOU: "name",
        MARRIAGE: "name",
        "304001002/000002": "taxpayer_name",
        "304002001/000003": "name",
        "306001001/000001": "name",
        "306002001/000002": "name",
        "307001001/000001": "name",
        "307001002/000002": "newborn_name",
        "308001001/000001": "mother_name",
        "308002001/000002": "name",
        "309002001/000002": "name",
        "302002001/000002": "name",
        "302003001/000003": "deceased_name",
    },
    "gender": {ID_CARD: "gender", HUKOU: "gender"},
    "birth_date": {ID_CARD: "birth_date", HUKOU: "birth_date"},
    "ethnicity": {ID_CARD: "ethnicity", HUKOU: "ethnicity"},
    "address": {ID_CARD: "address", HUKOU: "household_address"},
    "company_name": {LICENCE: "company_name", SEAL: "unit_name", NAME_DECLARATION: "proposed_name"},
    "location": {PROPERTY: "location", CONTRACT: "location", ASSESSMENT: "location"},
    "building_area": {
        PROPERTY: "building_area",
        CONTRACT: "building_area",
        ASSESSMENT: "building_area",
    },
    "owner_names": {PROPERTY: "owner_name", CONTRACT: "seller_names"},
}
# fact → resources in order of authority (the first one present among the values wins).
AUTHORITY: dict[str, tuple[str, ...]] = {
    "name": (ID_CARD, HUKOU),
    "gender": (ID_CARD, HUKOU),
    "birth_date": (ID_CARD, HUKOU),
    "ethnicity": (ID_CARD, HUKOU),
    "address": (ID_CARD, HUKOU),
    "company_name": (LICENCE, NAME_DECLARATION),
    "location": (PROPERTY,),
    "building_area": (PROPERTY,),
    "owner_names": (PROPERTY,),
}
# How a fact's values are normalised before comparing (default: text).
KINDS: dict[str, str] = {
    "name": "name",
    "gender": "gender",
    "birth_date": "date",
    "building_area": "number",
    "owner_names": "names",
    "company_name": "name",
}
LABELS: dict[str, str] = {
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "address": "住址",
    "company_name": "企业名称",
    "location": "坐落",
    "building_area": "建筑面积",
    "owner_names": "权利人",
}
_FACT_OF: dict[tuple[str, str], str] = {
    (resource, item): fact for fact, items in FACTS.items() for resource, item in items.items()
}


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


# ---- normalisation ---------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")
_DOTS = str.maketrans(
    dict.fromkeys(".\u2022\u2027\u2219\u22c5\u30fb\uff65", "\u00b7")
)  # 少数民族姓名 ·
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[Tt\s].*)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_GENDERS = {"1": "男", "男": "男", "男性": "男", "m": "男", "male": "男"}
_GENDERS |= {"2": "女", "女": "女", "女性": "女", "f": "女", "female": "女"}
_NAMES_SPLIT_RE = re.compile(r"[、,;/|\s]+")


def normalise_text(value: Any) -> str:
    """Return ``value`` as comparable text: NFKC, no whitespace at all, case-folded."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    # Folding, or dropping a space between a letter and a combining mark, can leave a
    # sequence NFKC composes further (and NFKC can yield spaces: "¨" → " ̈"): to a fixpoint.
    for _ in range(4):
        again = _SPACE_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
        if again == text:
            break
        text = again
    return text


def normalise(value: Any, kind: str = "text") -> str | None:
    """Return the comparable form of a value of a fact of ``kind``; None if it is empty.

    Kinds: ``text``; ``name`` (also unifies the middle dots of 少数民族 names); ``date``
    (``1978-3-15``, ``19780315``, ``1978年3月15日`` → ``1978-03-15``); ``gender`` (GB/T
    2261.1 codes and spellings → 男/女); ``number`` (``89.50`` → ``89.5``); ``names`` (a
    list or a 、/,-separated string → the sorted set).
    """
    if value is None:
        return None
    if kind == "names":
        parts = value if isinstance(value, list | tuple | set | frozenset) else [value]
        names = set()
        for part in parts:
            text = unicodedata.normalize("NFKC", str(part))
            names |= {n for n in (normalise(p, "name") for p in _NAMES_SPLIT_RE.split(text)) if n}
        return "、".join(sorted(names)) or None
    if isinstance(value, list | tuple):
        return "|".join(sorted(n for n in (normalise(v, kind) for v in value) if n)) or None
    text = normalise_text(value)
    if not text:
        return None
    if kind == "name":
        return text.translate(_DOTS)
    if kind == "gender":
        return _GENDERS.get(text, text)
    if kind == "date":
        spaced = unicodedata.normalize("NFKC", str(value)).strip()
        m = _DATE_RE.match(spaced) or _COMPACT_DATE_RE.match(text)
        if m:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        return text
    if kind == "number":
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return text
        # Garbage such as "1e999999999" must not expand into a billion digits.
        if not number.is_finite() or abs(int(number.as_tuple().exponent)) > 40:
            return text
        return format(number.normalize(), "f")
    return text


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


def fact_of(resource: str, item: str) -> str | None:
    """Return the fact an item of a resource states (per ``FACTS``), or None if undeclared."""
    return _FACT_OF.get((resource, item))


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
