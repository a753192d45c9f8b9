"""Build the DCAT-AP 3.0.1 JSON-LD document of the published catalogue (pure: no session).

One ``dcat:Catalog`` published by the province's big-data bureau; one ``dcat:Dataset`` per
published resource (drafts, deprecated and retired entries are not exported: a deprecated
entry must not attract new grant requests); one ``dcat:Distribution`` per dataset whose
access URL is the hub's record-pull (lookup) API; and one ``dcat:DataService`` for that
API, serving every dataset that can be shared (不予共享 resources are listed but not served).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from catalogs.dcat import nodes, rules, vocab
from catalogs.dcat.nodes import GOVERNMENT_THEME, JSON_FORMAT, JSON_MEDIA_TYPE, LANGUAGES, STABLE
from catalogs.dcat.profile import ZHEJIANG, CatalogProfile
from catalogs.dcat.rules import Links
from catalogs.dcat.vocab import literal, ref, typed
from catalogs.resources.models import Resource

MAX_ITEM_KEYWORDS = 20


def _date(value: date) -> dict[str, str]:
    return typed(value.isoformat(), "xsd:date")


def _datetime(value: datetime) -> dict[str, str]:
    return typed(value.isoformat(timespec="seconds"), "xsd:dateTime")


def build_catalog(
    resources: Sequence[Resource],
    *,
    base_url: str,
    now: datetime,
    profile: CatalogProfile = ZHEJIANG,
) -> dict[str, Any]:
    """Return the catalogue as a JSON-LD document with an inline ``@context``."""
    links = Links.for_base(base_url)
    published = sorted((r for r in resources if r.status == "published"), key=lambda r: r.code)
    published_codes = {r.code for r in published}
    service_iri = links.local("record-pull-service")

    publisher = profile.publisher_code
    agents = {publisher: nodes.publisher_agent(links, profile)}
    contacts = {publisher: nodes.contact(links, publisher, profile.publisher_name_zh)}
    datasets = []
    for resource in published:
        dept = resource.provider
        # The department's own record wins over the profile when the bureau provides data too.
        agents[dept.code] = nodes.department_agent(links, dept)
        contacts[dept.code] = nodes.contact(links, dept.code, dept.name)
        datasets.append(_dataset(links, resource, published_codes, service_iri))

    graph: list[dict[str, Any]] = [
        _catalog(links, published, now, service_iri, profile),
        _data_service(links, published, service_iri, profile),
        *datasets,
        *agents.values(),
        *contacts.values(),
        *(nodes.table_schema_standard(links, r) for r in published),
        *nodes.vocabulary_nodes(links, published, agents.values(), profile),
    ]
    return {"@context": dict(vocab.CONTEXT), "@graph": graph}


def _catalog(
    links: Links,
    published: Sequence[Resource],
    now: datetime,
    service_iri: str,
    profile: CatalogProfile,
) -> dict[str, Any]:
    issued = min((r.published_on or r.created_at.date() for r in published), default=now.date())
    modified = max((r.updated_at for r in published), default=now)
    return {
        "@id": links.local("catalog"),
        "@type": "dcat:Catalog",
        "dct:title": [literal(profile.title_zh, "zh"), literal(profile.title_en, "en")],
        "dct:description": [
            literal(profile.description_zh, "zh"),
            literal(profile.description_en, "en"),
        ],
        "dct:publisher": ref(links.local(f"org-{profile.publisher_code}")),
        "foaf:homepage": ref(links.homepage),
        "dct:issued": _date(issued),
        "dct:modified": _datetime(modified),
        "dct:language": [ref(vocab.LANGUAGE + code) for code in LANGUAGES],
        "dct:license": ref(links.local("terms")),
        "dct:spatial": ref(links.local("region")),
        "dcat:themeTaxonomy": [ref(vocab.DATA_THEME), ref(links.local("categories"))],
        "dcat:service": ref(service_iri),
        "dcat:dataset": [ref(links.dataset(r.code)) for r in published],
    }


def _data_service(
    links: Links, published: Sequence[Resource], service_iri: str, profile: CatalogProfile
) -> dict[str, Any]:
    return {
        "@id": service_iri,
        "@type": "dcat:DataService",
        "dct:title": [
            literal("公共数据共享交换平台记录查询接口", "zh"),
            literal("DataRun record-pull API", "en"),
        ],
        "dct:description": [
            literal(
                "政务部门系统以 OAuth2 客户端凭证（private_key_jwt）取得令牌后，"
                "在已批准的共享权限内按关键字查询资源记录；每次访问均记入防篡改访问日志。",
                "zh",
            ),
            literal(
                "Department systems authenticated by OAuth2 client credentials "
                "(private_key_jwt) look up a resource's records by key, within their "
                "approved grants; every access is written to a tamper-evident log.",
                "en",
            ),
        ],
        "dcat:endpointURL": ref(links.records_endpoint),
        "dcat:endpointDescription": ref(links.openapi),
        "dct:conformsTo": ref(links.openapi),
        "dct:publisher": ref(links.local(f"org-{profile.publisher_code}")),
        "dcat:contactPoint": ref(links.local(f"contact-{profile.publisher_code}")),
        "dct:accessRights": ref(vocab.ACCESS_RIGHT + "RESTRICTED"),
        "dct:license": ref(links.local("terms")),
        "dcat:theme": ref(GOVERNMENT_THEME),
        "dcat:keyword": [literal("数据共享", "zh"), literal("data sharing", "en")],
        "dcat:servesDataset": [
            ref(links.dataset(r.code)) for r in published if rules.is_shareable(r.share_type)
        ],
    }


def _dataset(
    links: Links,
    resource: Resource,
    published_codes: set[str],
    service_iri: str,
) -> dict[str, Any]:
    dept = resource.provider
    category = resource.category_code[:1]
    frequency = rules.frequency_iri(resource.update_cycle)
    keywords = nodes.unique(
        [
            resource.name,
            vocab.CATEGORY_LABELS.get(category, ("", ""))[1],
            vocab.SHARE_TYPE_LABELS.get(resource.share_type, ""),
            *(item.name for item in resource.items[:MAX_ITEM_KEYWORDS]),
        ]
    )
    node: dict[str, Any] = {
        "@id": links.dataset(resource.code),
        "@type": "dcat:Dataset",
        "dct:identifier": resource.code,
        "dct:title": literal(resource.name, "zh"),
        "dct:description": literal(resource.summary.strip() or resource.name, "zh"),
        "dct:publisher": ref(links.local(f"org-{dept.code}")),
        "dcat:contactPoint": ref(links.local(f"contact-{dept.code}")),
        "dct:modified": _datetime(resource.updated_at),
        "dct:accessRights": ref(rules.access_right_iri(resource.share_type)),
        "dct:conformsTo": ref(links.table_schema(resource.code)),
        "dct:language": ref(vocab.LANGUAGE + "ZHO"),
        "dct:spatial": ref(links.local("region")),
        "dcat:theme": [ref(GOVERNMENT_THEME), ref(links.local(f"category-{category}"))],
        "dcat:keyword": [literal(k, "zh") for k in keywords],
        "dcat:version": resource.version,
        "owl:versionInfo": resource.version,
        "dcat:distribution": _distribution(links, resource, service_iri),
        "datarun:shareType": resource.share_type,
        "datarun:shareMethod": resource.share_method,
        "datarun:openType": resource.open_type,
        "datarun:resourceFormat": resource.format,
        "datarun:categoryCode": resource.category_code,
        "datarun:updateCycle": resource.update_cycle,
    }
    if resource.published_on:
        node["dct:issued"] = _date(resource.published_on)
    if frequency:
        node["dct:accrualPeriodicity"] = ref(frequency)
    if resource.share_condition:
        node["datarun:shareCondition"] = literal(resource.share_condition, "zh")
    if resource.legal_basis:
        node["datarun:legalBasis"] = literal(resource.legal_basis, "zh")
    related = [ref(links.dataset(c)) for c in resource.related_codes if c in published_codes]
    if related:
        node["dct:relation"] = related
    return node


def _distribution(links: Links, resource: Resource, service_iri: str) -> dict[str, Any]:
    keys = "、".join(item.name for item in resource.items if item.is_key) or "资源关键字"
    if resource.share_type == "none":
        how = f"不予共享：平台不受理共享申请，查询接口拒绝访问。依据：{resource.legal_basis or '—'}"
    elif resource.share_type == "conditional":
        how = f"有条件共享：经提供部门审核批准后可查询。共享条件：{resource.share_condition or '—'}"
    else:
        how = "无条件共享：政务部门申请即授权。"
    node: dict[str, Any] = {
        "@id": f"{links.dataset(resource.code)}#lookup",
        "@type": "dcat:Distribution",
        "dct:title": literal(f"{resource.name}（记录查询接口）", "zh"),
        "dct:description": literal(
            f"按{keys}查询记录，仅返回共享权限内的信息项，结构见表结构（Table Schema）。{how}",
            "zh",
        ),
        "dcat:accessURL": ref(links.lookup(resource.code)),
        "dct:format": ref(JSON_FORMAT),
        "dcat:mediaType": ref(JSON_MEDIA_TYPE),
        "dct:conformsTo": ref(links.table_schema(resource.code)),
        "dcatap:availability": ref(STABLE),
        "dct:license": ref(links.local("terms")),
    }
    if rules.is_shareable(resource.share_type):
        node["dcat:accessService"] = ref(service_iri)
    return node
