"""GET /metrics: who may read it, and what an operator finds there after real traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from catalogs.onethings.models import OneThing
from exchange.applications.models import Application, ApplicationMaterial
from exchange.audit.log import AuditLog
from exchange.bindings.pool import ConnectorPool
from exchange.core.settings import Settings
from exchange.demo.seed import SeedResult
from tests.observability.support import scrape, value
from tests.records.support import ID_CARD, SELLER, grant_esf_transfer, lookup

LOOPBACK = ("127.0.0.1", 50123)


@pytest.fixture
def local(app: FastAPI) -> Iterator[TestClient]:
    """A client on the loopback interface (as a scraper on the hub's own host is)."""
    with TestClient(app, client=LOOPBACK) as client:
        yield client


def test_metrics_are_for_loopback_or_the_token_holder(app: FastAPI, client: TestClient) -> None:
    refused = client.get("/metrics")  # TestClient's default peer is not on loopback
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "DATARUN_METRICS_TOKEN" in refused.json()["detail"]
    with TestClient(app, client=LOOPBACK) as local:
        assert local.get("/metrics").status_code == 200
        # A request a reverse proxy on the same host forwarded is not local.
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        app.state.settings = app.state.settings.model_copy(
            update={"metrics_token": SecretStr("s3cret-scraper")}
        )
        missing = local.get("/metrics")
        assert missing.status_code == 401 and "Bearer" in missing.headers["www-authenticate"]
        assert local.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    # With the token, from anywhere.
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper"}).status_code
        == 200
    )


def test_requests_are_counted_by_route_template_and_status(local: TestClient) -> None:
    before = scrape(local)
    for _ in range(3):
        assert local.get("/healthz").status_code == 200
    assert local.get("/v1/catalog/resources/999999999/000001").status_code in (401, 404)
    assert local.get("/no/such/route/330106197803154217").status_code == 404
    after = scrape(local)
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert (
        value(after, "datarun_http_requests_total", **healthz)
        - value(before, "datarun_http_requests_total", **healthz)
        == 3
    )
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(after, "datarun_http_requests_total", **unmatched) >= 1
    # Routes are templates: no path (and so no key someone put in one) becomes a label.
    assert not any("330106197803154217" in str(labels) for _, labels in after)
    count = value(
        after, "datarun_http_request_duration_seconds_count", method="GET", route="/healthz"
    )
    assert count >= 3


def test_pull_decisions_connectors_and_appends_are_metered(
    app: FastAPI, local: TestClient, demo_bound: Settings
) -> None:
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, demo_bound)
    assert isinstance(app.state.audit, AuditLog)  # still the log everyone knows, only metered
    grant_esf_transfer(local, app)
    before = scrape(local)
    assert lookup(local, app, ID_CARD, keys=[SELLER]).status_code == 200
    denied = lookup(local, app, ID_CARD, keys=[SELLER], items=["photo"])
    assert denied.status_code == 403
    after = scrape(local)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("datarun_access_decisions_total", decision="allowed") == 1
    assert delta("datarun_access_decisions_total", decision="denied") == 1
    assert delta("datarun_audit_append_seconds_count") == 2
    call = {
        "resource": ID_CARD,
        "provider": "zj-gat",
        "adapter": "sql",
        "operation": "lookup",
        "outcome": "ok",
    }
    assert delta("datarun_connector_call_seconds_count", **call) == 1
    state = value(after, "datarun_connector_breaker_state", resource=ID_CARD, provider="zj-gat")
    assert state == 0  # closed


def test_the_retry_queue_is_the_unavailable_materials(
    local: TestClient, db: Session, demo_province: SeedResult
) -> None:
    assert value(scrape(local), "datarun_application_retry_queue") == 0  # empty table: 0
    one_thing = db.query(OneThing).filter_by(code="esf-transfer").one()
    application = Application(
        number="ESF-METRICS-0001",
        one_thing_code="esf-transfer",
        one_thing_id=one_thing.id,
        window_department="zj-zrzyt",
        window_system="zj-zrzyt-window",
        applicant_kind="person",
    )
    for i, status in enumerate(["unavailable", "fetched", "unavailable"]):
        application.materials.append(
            ApplicationMaterial(
                position=i, material_code=f"m{i}", name=f"材料{i}", kind="pullable", status=status
            )
        )
    db.add(application)
    db.commit()
    assert value(scrape(local), "datarun_application_retry_queue") == 2
