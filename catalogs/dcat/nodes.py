"""The supporting nodes of the export: agents, contact points and vocabulary terms (pure).

DCAT-AP's range shapes want every referenced term typed (a frequency is a dct:Frequency, an
access right a dct:RightsStatement, ...), so the document describes the terms it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from catalogs.dcat import rules, vocab
from catalogs.dcat.profile import CatalogProfile
from catalogs.dcat.rules import Links
from catalogs.dcat.vocab import concept, labels, literal, ref, typed
from catalogs.departments.models import Department
from catalogs.resources.models import Resource

JSON_FORMAT = vocab.FILE_TYPE + "JSON"
JSON_MEDIA_TYPE = vocab.IANA_MEDIA + "application/json"
STABLE = vocab.AVAILABILITY + "STABLE"
GOVERNMENT_THEME = vocab.DATA_THEME + "/GOVE"
RESTRICTIVE_LICENCE = vocab.LICENCE_TYPE + "OtherRestrictiveClauses"
LANGUAGES = {"ZHO": ("Chinese", "中文"), "ENG": ("English", "英文")}


def unique(values: Iterable[str]) -> list[str]:
    """Return the non-empty values in first-seen order, without duplicates."""
    return list(dict.fromkeys(v for v in values if v))


def publisher_agent(links: Links, profile: CatalogProfile) -> dict[str, Any]:
    """Describe the catalogue's publisher (the province's big-data bureau) as a foaf:Agent."""
    return {
        "@id": links.local(f"org-{profile.publisher_code}"),
        "@type": ["foaf:Agent", "foaf:Organization"],
        "foaf:name": [
            literal(profile.publisher_name_zh, "zh"),
            literal(profile.publisher_name_en, "en"),
        ],
        "dct:identifier": profile.publisher_code,
        "dct:type": ref(rules.publisher_type_iri("province")),
    }


def department_agent(links: Links, dept: Department) -> dict[str, Any]:
    """Describe a provider department as a foaf:Agent."""
    node: dict[str, Any] = {
        "@id": links.local(f"org-{dept.code}"),
        "@type": ["foaf:Agent", "foaf:Organization"],
        "foaf:name": literal(dept.name, "zh"),
        "dct:identifier": dept.code,
        "dct:type": ref(rules.publisher_type_iri(dept.level)),
    }
    if dept.uscc:
        node["datarun:uscc"] = dept.uscc  # 统一社会信用代码
    return node


def contact(links: Links, code: str, name: str) -> dict[str, Any]:
    """Describe a department's contact point as a vCard organisation."""
    return {
        "@id": links.local(f"contact-{code}"),
        # vcard:Kind too: without inference the range shape only sees asserted types.
        "@type": ["vcard:Organization", "vcard:Kind"],
        "vcard:fn": literal(name, "zh"),
        "vcard:hasURL": ref(links.department(code)),
    }


def table_schema_standard(links: Links, resource: Resource) -> dict[str, Any]:
    """Describe a resource's Table Schema as the dct:Standard its data conforms to."""
    return {
        "@id": links.table_schema(resource.code),
        "@type": "dct:Standard",
        "dct:title": literal(f"{resource.name} 信息项表结构（Frictionless Table Schema）", "zh"),
        "dct:format": ref(JSON_FORMAT),
    }


def vocabulary_nodes(
    links: Links,
    published: Sequence[Resource],
    agents: Iterable[dict[str, Any]],
    profile: CatalogProfile,
) -> list[dict[str, Any]]:
    """Describe every vocabulary term, scheme and document the export refers to."""
    nodes: list[dict[str, Any]] = []
    for code in unique(vocab.ACCESS_RIGHTS.values()):
        en, zh = vocab.ACCESS_RIGHT_LABELS[code]
        nodes.append(concept(vocab.ACCESS_RIGHT + code, ["dct:RightsStatement"], en, zh))
    cycles = (vocab.FREQUENCIES.get(r.update_cycle, "") for r in published)
    for code in unique(cycles):
        en, zh = vocab.FREQUENCY_LABELS[code]
        nodes.append(concept(vocab.FREQUENCY + code, ["dct:Frequency"], en, zh))
    for iri in unique(agent["dct:type"]["@id"] for agent in agents):
        en, zh = vocab.PUBLISHER_TYPE_LABELS[iri.removeprefix(vocab.PUBLISHER_TYPE)]
        nodes.append(concept(iri, [], en, zh))
    for code, (en, zh) in LANGUAGES.items():
        language = {"@id": vocab.LANGUAGE + code, "@type": "dct:LinguisticSystem"}
        nodes.append({**language, "skos:prefLabel": labels(en, zh)})
    nodes += _themes(links)
    nodes += [
        {"@id": JSON_FORMAT, "@type": "dct:MediaTypeOrExtent", "rdfs:label": "JSON"},
        {"@id": JSON_MEDIA_TYPE, "@type": "dct:MediaType", "rdfs:label": "application/json"},
        concept(STABLE, [], "stable", "长期稳定"),
        {
            "@id": links.homepage,
            "@type": "foaf:Document",
            "dct:title": literal("DataRun API documentation", "en"),
        },
        {
            "@id": links.openapi,
            "@type": "dct:Standard",
            "dct:title": literal("DataRun hub OpenAPI description", "en"),
        },
        _terms(links),
        concept(RESTRICTIVE_LICENCE, [], "Other restrictive clauses", "其他限制性条款"),
        _region(links, profile),
    ]
    return nodes


def _themes(links: Links) -> list[dict[str, Any]]:
    scheme = links.local("categories")
    nodes: list[dict[str, Any]] = [
        {
            "@id": vocab.DATA_THEME,
            "@type": "skos:ConceptScheme",
            "dct:title": literal("Data theme", "en"),
        },
        concept(
            GOVERNMENT_THEME,
            [],
            "Government and public sector",
            "政府和公共部门",
            **{"skos:inScheme": ref(vocab.DATA_THEME)},
        ),
        {
            "@id": scheme,
            "@type": "skos:ConceptScheme",
            "dct:title": labels("Information resource classes", "政务信息资源分类（类）"),
        },
    ]
    for digit, (en, zh) in vocab.CATEGORY_LABELS.items():
        extra = {"skos:notation": digit, "skos:inScheme": ref(scheme)}
        nodes.append(concept(links.local(f"category-{digit}"), [], en, zh, **extra))
    return nodes


def _terms(links: Links) -> dict[str, Any]:
    return {
        "@id": links.local("terms"),
        "@type": "dct:LicenseDocument",
        "dct:title": literal("政务数据共享使用条款", "zh"),
        "dct:description": literal(
            "依据《政务数据共享条例》：共享数据仅限获批部门在批准的用途（办事事项）和期限内"
            "使用，不得向社会公开、转授或用于其他目的。",
            "zh",
        ),
        "dct:type": ref(RESTRICTIVE_LICENCE),
    }


def _region(links: Links, profile: CatalogProfile) -> dict[str, Any]:
    return {
        "@id": links.local("region"),
        "@type": "dct:Location",
        "locn:geographicName": [
            literal(profile.region_zh, "zh"),
            literal(profile.region_en, "en"),
        ],
        "dcat:bbox": typed(profile.region_bbox_wkt, "gsp:wktLiteral"),
        "dcat:centroid": typed(profile.region_centroid_wkt, "gsp:wktLiteral"),
    }
