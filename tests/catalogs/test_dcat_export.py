"""The DCAT-AP 3 export, fetched through the API and validated offline with the official shapes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from sqlalchemy.orm import Session

from catalogs.identifiers import uscc_check_char
from catalogs.resources.models import Resource, ResourceItem
from tests.fixtures.factories import create_department

SHAPES = Path(__file__).resolve().parents[1] / "data" / "dcat-ap-3.0.1"
BASE = "http://testserver"
# Plain namespaces: rdflib's closed ones warn when pytest probes their attributes.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
SH = Namespace("http://www.w3.org/ns/shacl#")
A = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DATARUN = Namespace("https://datarun.zj.gov.cn/ns/catalog#")
ACCESS = "http://publications.europa.eu/resource/authority/access-right/"
FREQ = "http://publications.europa.eu/resource/authority/frequency/"

HUKOU = "301001001/000001"
MARRIAGE = "301002001/000002"
COMPANY = "101001/000003"
PROPERTY = "201001/000004"
PENSION = "301003/000005"
CITY_PERMIT = "301004/000006"
DRAFT = "301001001/000099"
DEPRECATED = "301001001/000098"
PUBLISHED = {HUKOU, MARRIAGE, COMPANY, PROPERTY, PENSION, CITY_PERMIT}

Patch = pytest.MonkeyPatch
Item = tuple[str, str, str, int, bool]  # code, name, data type, sensitivity, is_key


def add_resource(
    db: Session,
    code: str,
    name: str,
    provider: str,
    items: list[Item],
    *,
    share_type: str = "unconditional",
    update_cycle: str = "daily",
    status: str = "published",
    summary: str | None = None,
    **extra: Any,
) -> Resource:
    """Insert one catalogue entry the way the resources service stores it."""
    dept = create_department(db, provider)
    resource = Resource(
        code=code,
        category_code=code.split("/")[0],
        name=name,
        provider_id=dept.id,
        summary=f"{name}，供各部门办事核验使用。" if summary is None else summary,
        format="database",
        share_type=share_type,
        share_method="api",
        open_type="closed",
        update_cycle=update_cycle,
        status=status,
        published_on=date(2026, 1, 15) if status != "draft" else None,
        items=[
            ResourceItem(
                position=i, code=c, name=n, data_type=t, sensitivity=s, is_key=k, description=None
            )
            for i, (c, n, t, s, k) in enumerate(items)
        ],
        **extra,
    )
    db.add(resource)
    db.flush()
    return resource


@pytest.fixture
def province(db: Session) -> None:
    """A small province: six published entries of every sharing type, a draft, a deprecated one."""
    create_department(db, "zj-gat", name="浙江省公安厅")
    create_department(db, "zj-mzt", name="浙江省民政厅")
    create_department(db, "zj-scjgj", name="浙江省市场监督管理局")
    create_department(db, "zj-zrzyt", name="浙江省自然资源厅")
    create_department(db, "zj-rlsbt", name="浙江省人力资源和社会保障厅")
    city = create_department(db, "hz-jsj", name="杭州市建设委员会", level="city")
    city.uscc = "11330100" + "002489000" + uscc_check_char("11330100002489000")
    person = [("id_number", "公民身份号码", "C", 3, True), ("name", "姓名", "C", 2, False)]
    add_resource(
        db,
        HUKOU,
        "居民户籍信息",
        "zj-gat",
        [
            *person,
            ("birth_date", "出生日期", "D", 3, False),
            ("photo", "照片", "B", 4, False),
            ("registered_at", "登记时间", "T", 2, False),
        ],
        update_cycle="realtime",
        related_codes=[MARRIAGE, DRAFT],
    )
    add_resource(
        db,
        MARRIAGE,
        "婚姻登记信息",
        "zj-mzt",
        [*person, ("married", "是否已婚", "L", 3, False)],
        share_type="conditional",
        update_cycle="monthly",
        share_condition="仅用于婚姻状况核验",
        legal_basis="《婚姻登记条例》",
    )
    add_resource(
        db,
        COMPANY,
        "企业登记基本信息",
        "zj-scjgj",
        [("uscc", "统一社会信用代码", "C", 1, True), ("capital", "注册资本", "Y", 1, False)],
    )
    add_resource(
        db,
        PROPERTY,
        "不动产权属信息",
        "zj-zrzyt",
        [("cert_no", "不动产权证号", "C", 3, True), ("area", "面积", "F", 3, False)],
        share_type="none",
        update_cycle="yearly",
        legal_basis="《不动产登记暂行条例》第二十七条",
    )
    add_resource(
        db,
        PENSION,
        "社会保险参保信息",
        "zj-rlsbt",
        [*person, ("months", "缴费月数", "I", 3, False), ("note", "备注", "M", 2, False)],
        share_type="conditional",
        update_cycle="quarterly",
        share_condition="办理社保相关事项",
        legal_basis="《社会保险法》",
    )
    add_resource(
        db,
        CITY_PERMIT,
        "施工许可信息",
        "hz-jsj",
        [("permit_no", "施工许可证号", "C", 1, True), ("extra", "扩展信息", "G", 1, False)],
        update_cycle="weekly",
        summary="  ",
    )
    add_resource(db, DRAFT, "草稿资源", "zj-gat", person, status="draft")
    add_resource(db, DEPRECATED, "旧户籍信息", "zj-gat", person, status="deprecated")
    db.commit()


@contextmanager
def no_network(monkeypatch: Patch) -> Iterator[None]:
    """Fail any attempt to open a network connection (a remote @context fetch, say)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    with monkeypatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield


def fetch_graph(client: TestClient, monkeypatch: Patch) -> tuple[dict[str, Any], Graph]:
    """GET /catalog.jsonld and parse it with rdflib, offline."""
    response = client.get("/catalog.jsonld")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    assert isinstance(document["@context"], dict), "the @context must be inline"
    with no_network(monkeypatch):
        graph = Graph().parse(data=response.text, format="json-ld")
    return document, graph


def shacl(data: Graph, shapes_file: str, monkeypatch: Patch) -> tuple[bool, Graph, str]:
    """Validate ``data`` against one of the official shape files, offline, without inference."""
    shapes = Graph().parse(SHAPES / shapes_file, format="turtle")
    with no_network(monkeypatch):
        conforms, results, text = validate(data, shacl_graph=shapes, inference="none")
    assert isinstance(results, Graph)
    return bool(conforms), results, str(text)


def results_of(results: Graph, severity: URIRef) -> list[tuple[str, str]]:
    """Return (focus node, path) of every validation result with ``severity``."""
    return sorted(
        (str(results.value(r, SH.focusNode)), str(results.value(r, SH.resultPath)))
        for r in results.subjects(SH.resultSeverity, severity)
    )


def dataset(code: str) -> URIRef:
    return URIRef(f"{BASE}/v1/catalog/resources/{code}")


@pytest.mark.usefixtures("province")
def test_export_conforms_to_the_mandatory_dcat_ap_shapes(
    client: TestClient, monkeypatch: Patch
) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    conforms, results, text = shacl(graph, "shapes.ttl", monkeypatch)
    assert conforms, text
    assert results_of(results, SH.Violation) == [], text

    # The shapes really bite: a dataset without its mandatory description is a violation.
    graph.remove((dataset(PENSION), DCTERMS.description, None))
    conforms, results, _ = shacl(graph, "shapes.ttl", monkeypatch)
    assert not conforms
    assert results_of(results, SH.Violation) == [(str(dataset(PENSION)), str(DCTERMS.description))]


@pytest.mark.usefixtures("province")
def test_export_satisfies_the_class_ranges_and_recommendations(
    client: TestClient, monkeypatch: Patch
) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    conforms, _, text = shacl(graph, "range.ttl", monkeypatch)
    assert conforms, text

    _, results, text = shacl(graph, "shapes_recommended.ttl", monkeypatch)
    assert results_of(results, SH.Violation) == [], text
    # The catalogue keeps no temporal coverage (时间范围) for a resource, and inventing one
    # would mislead: that recommendation is the only one left unmet.
    expected = sorted((str(dataset(code)), str(DCTERMS.temporal)) for code in PUBLISHED)
    assert results_of(results, SH.Warning) == expected, text


@pytest.mark.usefixtures("province")
def test_only_published_entries_are_exported(client: TestClient, monkeypatch: Patch) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    identifiers = {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(A, DCAT.Dataset)}
    assert identifiers == PUBLISHED
    catalog = next(graph.subjects(A, DCAT.Catalog))
    assert set(graph.objects(catalog, DCAT.dataset)) == {dataset(c) for c in PUBLISHED}
    # A related code that is still a draft is not linked.
    assert set(graph.objects(dataset(HUKOU), DCTERMS.relation)) == {dataset(MARRIAGE)}
    titles = {(t.language, str(t)) for t in graph.objects(catalog, DCTERMS.title)}
    assert {lang for lang, _ in titles} == {"zh", "en"}


@pytest.mark.usefixtures("province")
def test_sharing_type_maps_to_access_rights_and_is_kept(
    client: TestClient, monkeypatch: Patch
) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    expected = {
        HUKOU: ("RESTRICTED", "unconditional"),  # 无条件共享: every department, not the public
        MARRIAGE: ("RESTRICTED", "conditional"),
        PROPERTY: ("NON_PUBLIC", "none"),
    }
    for code, (right, share_type) in expected.items():
        assert graph.value(dataset(code), DCTERMS.accessRights) == URIRef(ACCESS + right)
        assert graph.value(dataset(code), DATARUN.shareType) == Literal(share_type)
    service = next(graph.subjects(A, DCAT.DataService))
    served = set(graph.objects(service, DCAT.servesDataset))
    assert dataset(HUKOU) in served and dataset(PROPERTY) not in served  # 不予共享: never served


@pytest.mark.usefixtures("province")
def test_update_cycle_maps_to_the_eu_frequency_vocabulary(
    client: TestClient, monkeypatch: Patch
) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    expected = {
        HUKOU: "UPDATE_CONT",
        COMPANY: "DAILY",
        CITY_PERMIT: "WEEKLY",
        MARRIAGE: "MONTHLY",
        PENSION: "QUARTERLY",
        PROPERTY: "ANNUAL",
    }
    for code, frequency in expected.items():
        assert graph.value(dataset(code), DCTERMS.accrualPeriodicity) == URIRef(FREQ + frequency)


@pytest.mark.usefixtures("province")
def test_dataset_carries_its_metadata_distribution_and_table_schema(
    client: TestClient, monkeypatch: Patch
) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    hukou = dataset(HUKOU)
    assert str(graph.value(hukou, DCTERMS.title)) == "居民户籍信息"
    assert graph.value(hukou, DCTERMS.issued) == Literal(date(2026, 1, 15))
    assert graph.value(hukou, OWL.versionInfo) == Literal("1.0")
    publisher = graph.value(hukou, DCTERMS.publisher)
    assert str(graph.value(publisher, DCTERMS.identifier)) == "zj-gat"
    # An empty summary (摘要) falls back to the name: dct:description is mandatory.
    assert str(graph.value(dataset(CITY_PERMIT), DCTERMS.description)) == "施工许可信息"

    schema_url = f"{BASE}/catalog/table-schemas/{HUKOU}"
    assert graph.value(hukou, DCTERMS.conformsTo) == URIRef(schema_url)
    distribution = graph.value(hukou, DCAT.distribution)
    assert graph.value(distribution, DCAT.accessURL) == URIRef(f"{BASE}/v1/records/{HUKOU}/lookup")
    assert graph.value(distribution, DCTERMS.conformsTo) == URIRef(schema_url)
    assert graph.value(distribution, DCAT.accessService) is not None

    schema = client.get(schema_url.removeprefix(BASE))
    assert schema.status_code == 200
    body = schema.json()
    assert body["primaryKey"] == ["id_number"]
    fields = {f["name"]: f for f in body["fields"]}
    assert list(fields) == ["id_number", "name", "birth_date", "photo", "registered_at"]
    assert fields["id_number"]["title"] == "公民身份号码"
    assert (fields["id_number"]["type"], fields["id_number"]["sensitivity"]) == ("string", 3)
    assert (fields["birth_date"]["type"], fields["registered_at"]["type"]) == ("date", "datetime")
    assert (fields["photo"]["type"], fields["photo"]["format"]) == ("string", "binary")


@pytest.mark.usefixtures("province")
@pytest.mark.parametrize("code", [DRAFT, DEPRECATED, "301001001/123456", "not-a-code"])
def test_table_schema_of_an_unpublished_resource_is_404(client: TestClient, code: str) -> None:
    response = client.get(f"/catalog/table-schemas/{code}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_empty_catalogue_still_conforms(client: TestClient, monkeypatch: Patch) -> None:
    document, graph = fetch_graph(client, monkeypatch)
    assert not list(graph.subjects(A, DCAT.Dataset))
    conforms, _, text = shacl(graph, "shapes.ttl", monkeypatch)
    assert conforms, text
    assert document["@graph"][0]["@type"] == "dcat:Catalog"


@pytest.mark.usefixtures("demo_province")
def test_demo_province_export_conforms(client: TestClient, monkeypatch: Patch) -> None:
    _, graph = fetch_graph(client, monkeypatch)
    assert len(set(graph.subjects(A, DCAT.Dataset))) >= 15
    for shapes_file in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
        _, results, text = shacl(graph, shapes_file, monkeypatch)
        assert results_of(results, SH.Violation) == [], text
