"""Binding a resource to a department's JSON API through the admin API, end to end: the hub's
allowlist setting decides which hosts a binding may name, and the auth header stays secret."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource
from connectors.testing.sample import COLUMNS, PEOPLE_KEYS, RESOURCE_CODE
from exchange.bindings.models import ConnectorBinding
from exchange.core.settings import Settings
from tests.bindings.conftest import people_resource  # noqa: F401  (fixture)
from tests.connectors import restserver
from tests.connectors.restserver import RestServer

URL = f"/v1/bindings/{RESOURCE_CODE}"
SECRET = "binding-api-key-77d0"


@pytest.fixture(scope="module")
def server() -> Iterator[RestServer]:
    with restserver.running() as s:
        yield s


@pytest.fixture
def api(server: RestServer) -> Iterator[RestServer]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def settings(settings: Settings, server: RestServer) -> Settings:
    """The test hub, allowing its connectors to call the loopback API's port only."""
    return settings.model_copy(update={"connector_http_allowlist": [f"127.0.0.1:{server.port}"]})


@pytest.fixture
def admin(auth: Callable[..., dict[str, str]], people_resource: Resource) -> dict[str, str]:  # noqa: F811
    return auth("gat-admin", department="zj-gat", roles=["catalog_admin"])


def http_body(url: str, **config: Any) -> dict[str, Any]:
    return {
        "adapter": "http",
        "config": {
            "url": url,
            "key_param": "ids",
            "fields_param": "fields",
            "records_path": "data.items",
            "auth_header": "X-Api-Key",
            "auth_value": SECRET,
            "sample_key": PEOPLE_KEYS[0],
            **config,
        },
        "key_item": "id_number",
        "columns": dict(COLUMNS),
    }


def test_bind_check_and_describe_a_department_api(
    client: TestClient, admin: dict[str, str], api: RestServer, db: Session
) -> None:
    created = client.put(URL, json=http_body(api.url("/api/people")), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["config"]["auth_value"] == "**********"
    assert SECRET not in created.text
    row = db.scalars(select(ConnectorBinding)).one()
    assert SECRET not in str(row.config) and SECRET not in (row.secrets_encrypted or "")

    check = client.post(f"{URL}/check", headers=admin)
    assert check.status_code == 200 and check.json()["ok"] is True, check.text
    described = client.get(f"{URL}/describe", headers=admin)
    assert set(COLUMNS.values()) <= {c["name"] for c in described.json()}
    assert api.hits and all(h.headers["x-api-key"] == SECRET for h in api.hits)


def test_a_url_off_the_hubs_allowlist_is_refused(
    client: TestClient, admin: dict[str, str], api: RestServer
) -> None:
    for url in (
        f"http://127.0.0.1:{restserver.free_port()}/api/people",  # another port
        f"http://localhost:{api.port}/api/people",  # another name for the same host
        "http://169.254.169.254/latest/meta-data/",  # the classic SSRF target
    ):
        response = client.put(URL, json=http_body(url), headers=admin)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["config.url"]
    assert api.hits == []


def test_a_mapped_field_the_api_lacks_is_named(
    client: TestClient, admin: dict[str, str], api: RestServer
) -> None:
    body = http_body(api.url("/api/people"))
    body["columns"] = {**COLUMNS, "remark": "beizhu"}
    response = client.put(URL, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert "beizhu" in response.text
