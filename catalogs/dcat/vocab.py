"""Namespaces, the inline JSON-LD context and the controlled-vocabulary terms the export uses.

Every IRI a DCAT-AP 3 range constraint applies to (frequencies, access rights, media types,
publisher types, ...) is described in the export itself with its class and label, so the
document validates against the official shapes on its own, offline.
"""

from __future__ import annotations

from typing import Any

EU = "http://publications.europa.eu/resource/authority"
ACCESS_RIGHT = f"{EU}/access-right/"
FREQUENCY = f"{EU}/frequency/"
DATA_THEME = f"{EU}/data-theme"
FILE_TYPE = f"{EU}/file-type/"
LANGUAGE = f"{EU}/language/"
AVAILABILITY = f"{EU}/planned-availability/"
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"

# Our own terms (sharing type, sharing condition, ...) that DCAT-AP has no property for.
DATARUN_NS = "https://datarun.zj.gov.cn/ns/catalog#"

CONTEXT: dict[str, Any] = {
    "adms": "http://www.w3.org/ns/adms#",
    "datarun": DATARUN_NS,
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcatap": "http://data.europa.eu/r5r/",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "locn": "http://www.w3.org/ns/locn#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# share_type → EU access-right: 无条件共享 means every department, not the public.
ACCESS_RIGHTS = {
    "unconditional": "RESTRICTED",
    "conditional": "RESTRICTED",
    "none": "NON_PUBLIC",
}
ACCESS_RIGHT_LABELS = {
    "RESTRICTED": ("restricted", "受限（仅政务部门共享使用）"),
    "NON_PUBLIC": ("non-public", "非公开（不予共享）"),
}

# update_cycle (更新周期) → EU Frequency vocabulary.
FREQUENCIES = {
    "realtime": "UPDATE_CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
}
FREQUENCY_LABELS = {
    "UPDATE_CONT": ("continuously updated", "实时"),
    "DAILY": ("daily", "每日"),
    "WEEKLY": ("weekly", "每周"),
    "MONTHLY": ("monthly", "每月"),
    "QUARTERLY": ("quarterly", "每季度"),
    "ANNUAL": ("annual", "每年"),
}

# Department level → ADMS publisher type.
PUBLISHER_TYPES = {
    "province": "RegionalAuthority",
    "city": "LocalAuthority",
    "county": "LocalAuthority",
}
PUBLISHER_TYPE_LABELS = {
    "RegionalAuthority": ("Regional authority", "省级政府部门"),
    "LocalAuthority": ("Local authority", "市县政府部门"),
}

# 分类 (类): the first digit of the category code.
CATEGORY_LABELS = {
    "1": ("Base information resources", "基础信息资源"),
    "2": ("Thematic information resources", "主题信息资源"),
    "3": ("Departmental information resources", "部门信息资源"),
}

SHARE_TYPE_LABELS = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}


def literal(value: str, lang: str) -> dict[str, str]:
    """Return a language-tagged JSON-LD literal."""
    return {"@value": value, "@language": lang}


def typed(value: str, datatype: str) -> dict[str, str]:
    """Return a datatyped JSON-LD literal, e.g. ``typed("2026-01-15", "xsd:date")``."""
    return {"@value": value, "@type": datatype}


def ref(iri: str) -> dict[str, str]:
    """Return a JSON-LD node reference."""
    return {"@id": iri}


def labels(en: str, zh: str) -> list[dict[str, str]]:
    """Return an English and a Chinese label."""
    return [literal(en, "en"), literal(zh, "zh")]


def concept(iri: str, types: list[str], en: str, zh: str, **extra: Any) -> dict[str, Any]:
    """Describe a controlled-vocabulary term as a typed, labelled skos:Concept."""
    node = {"@id": iri, "@type": ["skos:Concept", *types], "skos:prefLabel": labels(en, zh)}
    return {**node, **extra}
