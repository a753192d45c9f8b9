"""The demo province bound to its departments' data, served by a live test hub."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.bindings.pool import ConnectorPool
from exchange.core.settings import Settings


@pytest.fixture
def hub(app: FastAPI, client: TestClient, demo_bound: Settings) -> TestClient:
    """The running test hub, its connectors allowed to read the demo departments' data."""
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, demo_bound)
    return client
