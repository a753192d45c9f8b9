"""Three real hub processes on one PostgreSQL database behave as one hub.

- A revocation made through one process denies in the other two within a second (the
  safety poll is set to a minute, so only LISTEN/NOTIFY can bring it in time); the same
  between two processes over the Redis watcher.
- Concurrent pulls through all three make one valid access-log chain: ``datarun audit
  verify`` passes and every answer's entries are in it.
- One ``Idempotency-Key`` sent to the three processes at once yields one application.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.applications.models import Application, IdempotencyRecord
from exchange.demo.sources import cast
from exchange.grants.models import Grant
from loadtest.checks import check_log
from loadtest.cluster import Cluster, ClusterConfig
from loadtest.traffic import Traffic
from loadtest.workload import WINDOW, load_workload
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.fixtures.servers import server_url

ID_CARD = "301001002/000002"  # 居民身份证信息 (zj-gat)
NEWBORN_WINDOW, NEWBORN_PURPOSE = "zj-wjw-window", "330000-GA-001"  # 新生儿出生一件事


Seen = tuple[float, float, int]  # a pull: sent at, answered at, status


def _bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def _wjw_id_card_grants(cluster: Cluster) -> list[int]:
    """Return the approved grants letting 卫健委 read ID cards for the newborn's 户籍 item."""
    with cluster.engine.connect() as conn:
        rows = conn.execute(
            select(Grant.id, Grant.purposes)
            .join(Resource, Resource.id == Grant.resource_id)
            .join(Department, Department.id == Grant.consumer_department_id)
            .where(
                Resource.code == ID_CARD, Department.code == "zj-wjw", Grant.status == "approved"
            )
        )
        return [int(r[0]) for r in rows if NEWBORN_PURPOSE in (r[1] or [])]


async def _watch(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    seen: list[Seen],
    stop: asyncio.Event,
) -> None:
    """Pull the newborn's mother's ID card over and over, noting (sent, answered, status)."""
    body = {"keys": [cast.MOTHER_ID], "items": ["id_number", "name"], "purpose": NEWBORN_PURPOSE}
    while not stop.is_set():
        sent = time.time()
        answer = await client.post(
            f"{url}/v1/records/{ID_CARD}/lookup", json=body, headers=_bearer(token)
        )
        seen.append((sent, time.time(), answer.status_code))


async def _revoke_and_watch(cluster: Cluster) -> tuple[float, list[list[Seen]]]:
    """Revoke through the first process while the others pull; return the stamp and pulls."""
    window = cluster.system_token(NEWBORN_WINDOW)
    admin = cluster.user_token("gat-admin")
    grants = _wjw_id_card_grants(cluster)
    assert grants, "the demo gives zj-wjw an ID-card grant for 330000-GA-001"
    revoker, watched = cluster.hub_urls[0], cluster.hub_urls[1:]
    async with httpx.AsyncClient(timeout=10) as client:
        for grant in grants[:-1]:  # leave one: its revocation is the one measured
            await client.post(
                f"{revoker}/v1/grants/{grant}/revoke",
                json={"reason": "测试：撤销"},
                headers=_bearer(admin),
            )
        stop = asyncio.Event()
        # Two watchers per process, so that a denial is seen within about half a pull.
        seen: list[list[Seen]] = [[] for _ in range(2 * len(watched))]
        watchers = [
            asyncio.create_task(_watch(client, watched[i // 2], window, seen[i], stop))
            for i in range(len(seen))
        ]
        deadline = time.monotonic() + 30
        while min(len(s) for s in seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # every watcher is warm (and allowed) before it starts
        sent = time.time()
        revoked = await client.post(
            f"{revoker}/v1/grants/{grants[-1]}/revoke",
            json={"reason": "测试：提供方撤销授权"},
            headers=_bearer(admin),
        )
        answered = time.time()
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        # The grant's end is stamped in the revoking transaction, just before it commits.
        ended = datetime.fromisoformat(revoked.json()["ended_at"])
        if ended.tzinfo is None:
            ended = ended.replace(tzinfo=UTC)
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*watchers)
    print(
        f"revocation: sent, stamped +{ended.timestamp() - sent:.3f} s, "
        f"answered +{answered - sent:.3f} s"
    )
    return ended.timestamp(), [seen[i] + seen[i + 1] for i in range(0, len(seen), 2)]


def _delays(stamped: float, per_process: list[list[Seen]]) -> list[float]:
    """Return, per watching process, how long after ``stamped`` its first 403 was answered."""
    delays = []
    for seen in per_process:
        seen.sort()
        before = [status for _sent, answered, status in seen if answered < stamped]
        assert before and set(before) == {200}, Counter(before)
        denied = [answered for _sent, answered, status in seen if status == 403]
        assert denied, f"never denied: {Counter(status for *_, status in seen)}"
        # Once denied, denied for good: no pull sent afterwards gets the old policy.
        assert {status for sent, _answered, status in seen if sent > denied[0]} == {403}
        delays.append(denied[0] - stamped)
    return delays


def test_a_revocation_in_one_process_denies_in_every_other_within_a_second(
    pg_cluster: Cluster,
) -> None:
    """PostgreSQL LISTEN/NOTIFY. Measured from the revoking transaction's own timestamp (an
    upper bound: it is taken before the commit) to each other process's first 403."""
    delays = _delays(*asyncio.run(_revoke_and_watch(pg_cluster)))
    print(f"revocation seen denied after {[round(d, 3) for d in delays]} s")
    assert max(delays) < 1.0, delays


def test_a_revocation_reaches_the_other_process_within_a_second_over_redis(
    scaleout_sources: Path, tmp_path: Path
) -> None:
    """The Redis watcher (DATARUN_POLICY_WATCHER=redis) between two processes."""
    config = ClusterConfig(
        hubs=2,
        postgres_url=server_url("DATARUN_TEST_POSTGRES_URL"),
        people=DEMO_SOURCES_PEOPLE,
        workdir=tmp_path / "cluster",
        sources_dir=scaleout_sources,
        settings={
            "policy_watcher": "redis",
            "redis_url": server_url("DATARUN_TEST_REDIS_URL"),
            "policy_safety_poll_seconds": 60,
        },
    )
    with Cluster(config) as cluster:
        delays = _delays(*asyncio.run(_revoke_and_watch(cluster)))
    print(f"revocation seen denied over Redis after {[round(d, 3) for d in delays]} s")
    assert max(delays) < 1.0, delays


def test_concurrent_pulls_through_three_processes_make_one_valid_chain(
    pg_cluster: Cluster,
) -> None:
    assert pg_cluster.sources is not None
    traffic = Traffic(
        urls=pg_cluster.hub_urls,
        workload=load_workload(pg_cluster.sources),
        token=lambda: pg_cluster.system_token(WINDOW),
        pulls=300,
        applications=0,
        concurrency=12,
    )

    async def go() -> None:
        await traffic.probe()
        await traffic.run()

    asyncio.run(go())
    answered = Counter(a.hub for a in traffic.attempts if a.kind != "probe" and a.status == 200)
    assert set(answered) == {0, 1, 2}, answered
    assert sum(answered.values()) == 300
    log = check_log(pg_cluster.engine, traffic.attempts)
    assert log.lost == 0, log.examples
    # The answers' entries, and nothing else, except what the other tests here logged.
    assert log.served_entries >= 300
    env = pg_cluster.hub_env()
    verified = subprocess.run(
        [str(Path(sys.executable).with_name("datarun")), "audit", "verify", "--workers", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK: the access log verifies" in verified.stdout


async def _same_key_everywhere(cluster: Cluster, body: dict[str, Any], key: str) -> list[Any]:
    token = cluster.system_token(WINDOW)
    head = _bearer(token, **{"Idempotency-Key": key})
    async with httpx.AsyncClient(timeout=60) as client:
        first = await asyncio.gather(
            *(
                client.post(f"{url}/v1/applications", json=body, headers=head)
                for url in cluster.hub_urls
            )
        )
        again = await asyncio.gather(
            *(
                client.post(f"{url}/v1/applications", json=body, headers=head)
                for url in cluster.hub_urls
            )
        )
    return [*first, *again]


def test_one_idempotency_key_on_three_processes_at_once_yields_one_application(
    pg_cluster: Cluster,
) -> None:
    assert pg_cluster.sources is not None
    workload = load_workload(pg_cluster.sources)
    rng = random.Random(7)
    with pg_cluster.engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Application)) or 0
    keys = [f"scaleout-{uuid.uuid4().hex}" for _ in range(4)]
    for key in keys:
        answers = asyncio.run(_same_key_everywhere(pg_cluster, workload.application(rng), key))
        statuses = Counter(a.status_code for a in answers)
        # Sent at once: one does the work, the others replay it or hear it is in flight.
        assert set(statuses) <= {201, 409}, [
            a.text for a in answers if a.status_code not in (201, 409)
        ]
        accepted = [a for a in answers if a.status_code == 201]
        assert accepted
        assert len({a.content for a in accepted}) == 1  # replays answer the very same bytes
        # Sent again once the first is done: every process replays it.
        assert [a.status_code for a in answers[3:]] == [201, 201, 201], statuses
    with pg_cluster.engine.connect() as conn:
        after = conn.scalar(select(func.count()).select_from(Application)) or 0
        records = conn.execute(
            select(IdempotencyRecord.state, IdempotencyRecord.application_id).where(
                IdempotencyRecord.key.in_(keys)
            )
        ).all()
    assert after - before == len(keys)
    assert len(records) == len(keys)
    assert {r[0] for r in records} == {"done"} and all(r[1] for r in records)
