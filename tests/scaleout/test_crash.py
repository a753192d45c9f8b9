"""``kill -9`` of hub processes during the load, bounded: what ``python -m loadtest crash`` runs.

The crash run kills a hub twice with SIGKILL while pulls and applications run (the second
time the HTTP department too, so some materials are left to the background retries), then
checks that no answer that carried data lacks its access-log entry, that the log verifies
after the restarts and that every application its window submitted ends accepted, with no
material left unavailable. On PostgreSQL when ``DATARUN_TEST_POSTGRES_URL`` is set, else on
SQLite.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from exchange.applications.models import Application
from exchange.demo.sources import cast
from loadtest.cluster import Cluster, ClusterConfig
from loadtest.runner import execute
from loadtest.workload import BUYER_MATERIALS, ONE_THING, WINDOW
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.scaleout.conftest import load_database
from tests.scaleout.test_load import options_for, show


def test_kill_9_during_the_load_loses_no_answered_data(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    options = options_for(
        tmp_path,
        scaleout_sources,
        rounds=2,
        pause=(0.5, 1.0),
        department_every=2,
        drain_seconds=90.0,
    )
    outcome = execute(options, say=print)
    print(show(outcome))
    assert len(outcome.rounds) == 2 and all(r.pid for r in outcome.rounds)
    # Nothing answered with data lacks its entry; nothing logged came from elsewhere.
    assert outcome.log.lost == 0, outcome.log.examples
    assert outcome.log.other == 0
    assert outcome.verified.ok, outcome.verified.problems
    # Every case the window submitted was accepted in the end (resubmitted with its key).
    assert outcome.cases.accepted == len(outcome.traffic.cases) >= 30, show(outcome)
    assert outcome.cases.cut_accepted == outcome.cases.cases_cut
    assert outcome.cases.duplicates == 0 and outcome.cases.unknown_numbers == 0
    assert outcome.cases.replays_differing == 0
    # No material of an accepted case is left unavailable: the retries settled them.
    assert outcome.cases.stuck == 0, show(outcome)


def _esf_body() -> dict[str, Any]:
    return {
        "one_thing": ONE_THING,
        "applicant": {
            "kind": "person",
            "name": "陈建国",
            "identifiers": {
                "resident_id": cast.SELLER_ID,
                "property_cert_no": cast.PROPERTY_CERT_NO,
                "unit_no": cast.UNIT_NO,
            },
        },
        "material_keys": dict.fromkeys(BUYER_MATERIALS, cast.BUYER_ID),
        "consent_to_fetch": True,
        "files": [],
        "pending": [],
    }


def _applications(cluster: Cluster) -> int:
    with cluster.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Application)) or 0)


def test_a_submission_cut_by_a_kill_leaves_no_application_behind(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    config = ClusterConfig(
        hubs=2,
        postgres_url=load_database(),
        people=DEMO_SOURCES_PEOPLE,
        workdir=tmp_path / "cluster",
        sources_dir=scaleout_sources,
        settings={"idempotency_in_flight_seconds": 2, "application_retry_poll_seconds": 0},
    )
    with Cluster(config) as cluster:
        head = {
            "Authorization": f"Bearer {cluster.system_token(WINDOW)}",
            "Idempotency-Key": f"cut-{uuid.uuid4().hex}",
        }
        first, second = cluster.hub_urls
        # The HTTP department hangs: the submission waits in its pulls, its row committed.
        cluster.pause_department()
        with ThreadPoolExecutor(1) as pool:
            cut = pool.submit(
                httpx.post, f"{first}/v1/applications", json=_esf_body(), headers=head, timeout=30
            )
            deadline = time.monotonic() + 20
            while _applications(cluster) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _applications(cluster) == 1
            cluster.kill_hub(0)
            with pytest.raises(httpx.TransportError):
                cut.result()
        cluster.resume_department()
        # The window system submits again with the same key once the key is stale.
        answer = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = httpx.post(
                f"{second}/v1/applications", json=_esf_body(), headers=head, timeout=30
            )
            if answer.status_code != 409:
                break
            time.sleep(0.5)
        assert answer is not None and answer.status_code == 201, answer.text if answer else None
        listed = httpx.get(
            f"{second}/v1/applications", headers={"Authorization": head["Authorization"]}
        )
        assert listed.status_code == 200
        # The window sees one application for its one case, not a second, empty one.
        assert listed.json()["total"] == 1, listed.json()
        assert _applications(cluster) == 1
