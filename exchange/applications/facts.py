"""Facts (同一事实): which items of which resources state one fact, and how to compare them.

``FACTS`` names, for each fact of a subject, the item of each resource that states it (the
same item code in *different* resources is not assumed to mean the same thing);
``AUTHORITY`` says which source wins when they disagree; ``normalise`` turns a value into
its comparable form (NFKC, whitespace, case, full-width digits, date and gender spellings).
Plain tables and functions: no session, no I/O. ``conflicts`` uses them to find conflicts.

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

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

ID_CARD, HUKOU, MARRIAGE = "301001002/000002", "301001001/000001", "302001001/000001"
LICENCE, NAME_DECLARATION, SEAL = "305001001/000001", "305001002/000002", "301002001/000003"
PROPERTY, CONTRACT, ASSESSMENT = "303001001/000001", "309001001/000001", "304001001/000001"

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


def fact_of(resource: str, item: str) -> str | None:
    """Return the fact an item of a resource states (per ``FACTS``), or None if undeclared."""
    return _FACT_OF.get((resource, item))


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
