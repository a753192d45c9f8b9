"""Fixtures borrowed from the fault and observability tests, and hubs with extra settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.app import create_app
from exchange.core.settings import Settings
from tests.faults.conftest import (  # noqa: F401  (fixtures)
    proxied_hub,
    proxies,
    sources,
    window_headers,
)
from tests.observability.conftest import hub  # noqa: F401  (fixture)

Hub = Callable[..., tuple[TestClient, FastAPI]]


@pytest.fixture
def hubs(settings: Settings) -> Iterator[Hub]:
    """Start hubs on the test database with extra settings; each its own process, in effect.

    ``peer=("203.0.113.9", 5000)`` sets the address the hub sees requests come from.
    """
    started: list[tuple[TestClient, FastAPI]] = []

    def start(
        *, peer: tuple[str, int] = ("testclient", 50000), **extra: object
    ) -> tuple[TestClient, FastAPI]:
        app = create_app(settings.model_copy(update=extra))
        client = TestClient(app, client=peer)
        client.__enter__()
        started.append((client, app))
        return client, app

    yield start
    for client, app in started:
        client.__exit__(None, None, None)
        app.state.engine.dispose()
