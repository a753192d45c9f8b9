"""A test hub whose HTTP department (人社厅) answers through fault proxies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from exchange.bindings.pool import ConnectorPool
from exchange.core.settings import Settings
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import Sources
from exchange.identity.tokens import issue_access_token
from faults import setup
from faults.proxy import BackgroundProxy
from faults.traffic import Source

METRICS_TOKEN = "test-metrics-token"


@pytest.fixture
def proxies(demo_department: HttpDepartment) -> Iterator[dict[str, BackgroundProxy]]:
    """One running fault proxy per HTTP resource, in front of the demo department."""
    port = int(demo_department.base_url.rsplit(":", 1)[1])
    started = {code: BackgroundProxy("127.0.0.1", port) for code in setup.HTTP_RESOURCES}
    for proxy in started.values():
        proxy.start()
    yield started
    for proxy in started.values():
        proxy.stop()


@pytest.fixture
def proxied_hub(
    app: FastAPI,
    client: TestClient,
    db: Session,
    demo_bound: Settings,
    demo_sources: Sources,
    demo_department: HttpDepartment,
    proxies: dict[str, BackgroundProxy],
) -> TestClient:
    """The test hub, its HTTP resources bound through the proxies, the window granted."""
    setup.bind_through(
        db,
        settings=demo_bound,
        sources=demo_sources,
        proxies=proxies,
        api_key=demo_department.api_key,
    )
    setup.grant_pulls(db, settings=demo_bound)
    db.commit()
    app.state.grant_policy.refresh()
    app.state.settings = app.state.settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN)}
    )
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, demo_bound)
    return client


@pytest.fixture
def window_headers(app: FastAPI) -> dict[str, str]:
    """The bearer header of 自然资源厅's window system."""
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=setup.SYSTEM,
        kind="system",
        department=setup.CONSUMER,
        roles=["system"],
        client_id=setup.SYSTEM,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sources(proxies: dict[str, BackgroundProxy]) -> list[Source]:
    """The matrix's sources."""
    return setup.sources_of(proxies)
