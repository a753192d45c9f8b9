"""Real hub processes (``datarun serve``) on one database, started by ``loadtest.cluster``.

The cross-process tests need the real PostgreSQL (``DATARUN_TEST_POSTGRES_URL``): they skip
locally without it and fail under ``CI=true``. The bounded load and crash runs use it when
set and a SQLite file otherwise, so they run everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.demo.sources.generate import ensure_sources
from loadtest.cluster import Cluster, ClusterConfig
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.fixtures.servers import server_url


@pytest.fixture(scope="session")
def scaleout_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo departments' data (400 people) is generated once for these tests."""
    root = tmp_path_factory.mktemp("scaleout-data")
    ensure_sources(root, people=DEMO_SOURCES_PEOPLE)
    return root


@pytest.fixture(scope="module")
def pg_cluster(
    scaleout_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Three hub processes on a PostgreSQL database of their own, with the demo province."""
    url = server_url("DATARUN_TEST_POSTGRES_URL")
    config = ClusterConfig(
        hubs=3,
        postgres_url=url,
        people=DEMO_SOURCES_PEOPLE,
        workdir=tmp_path_factory.mktemp("scaleout-cluster"),
        sources_dir=scaleout_sources,
        # The safety poll is slowed down: only the LISTEN/NOTIFY watcher can be in time.
        settings={"policy_safety_poll_seconds": 60},
    )
    with Cluster(config) as cluster:
        yield cluster


def load_database() -> str | None:
    """Return the PostgreSQL server of the bounded load runs, or None for SQLite."""
    return os.environ.get("DATARUN_TEST_POSTGRES_URL") or None
