"""PostgreSQL goes away during the load and comes back: clean 503s, then 200s, no restart.

Two hub processes (``datarun serve``) reach the real PostgreSQL through a TCP fault proxy
(``faults.proxy``), the harness's own checks go direct. Mixed traffic (record pulls and
applications, ``loadtest.traffic``) runs for about 15 s; after about 4 s the proxy refuses
for about 3 s (open connections cut, new ones refused, as when the server restarts), then
passes again. Every request sent and answered inside the outage must be a 503
``application/problem+json``; no answer anywhere is a 500, none is
lost or hangs; ``/readyz`` says 503 during the outage and 200 after it; the same processes
(never restarted) answer 200 again; and afterwards every data answer has its access-log
entries and the log verifies. Needs ``DATARUN_TEST_POSTGRES_URL`` (skips locally without
it, fails under ``CI=true``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from faults.proxy import BackgroundProxy
from loadtest.checks import check_applications, check_log, drain, verify
from loadtest.cluster import Cluster, ClusterConfig
from loadtest.traffic import Attempt, Traffic
from loadtest.workload import WINDOW, load_workload
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.fixtures.servers import server_url

BEFORE = 4.0  # seconds of load before PostgreSQL goes away
OUTAGE = 3.0  # seconds it stays away
LOAD = 15.0  # seconds of load in all
HANG = 10.0  # no answer may take longer (the clients would wait 30 s)
IN_FLIGHT = 4.0  # idempotency_in_flight_seconds: a key cut by the outage is free again soon


@dataclass
class Sent:
    """When one request left and its answer came back (monotonic), and what it was."""

    started: float
    ended: float
    content_type: str
    retry_after: str | None


class TimedTraffic(Traffic):
    """The harness's traffic, remembering when each request was sent and answered."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sent: dict[str, Sent] = {}

    async def send(
        self, kind: str, method: str, path: str, **more: Any
    ) -> tuple[Attempt, httpx.Response | None]:
        started = time.monotonic()
        attempt, response = await super().send(kind, method, path, **more)
        head = response.headers if response is not None else httpx.Headers()
        self.sent[attempt.request_id] = Sent(
            started, time.monotonic(), head.get("content-type", ""), head.get("retry-after")
        )
        return attempt, response


@dataclass
class Outage:
    """When the proxy refused and passed again, and what ``/readyz`` said meanwhile."""

    down: float = 0.0
    up: float = 0.0
    ready_during: list[tuple[int, int, list[str]]] = field(default_factory=list)
    ready_after: dict[int, float] = field(default_factory=dict)  # hub → seconds to 200


async def _ready(client: httpx.AsyncClient, url: str) -> tuple[int, list[str]]:
    try:
        answer = await client.get(url + "/readyz")
    except httpx.HTTPError:
        return 0, []
    failed = answer.json().get("failed", []) if answer.status_code == 503 else []
    return answer.status_code, list(failed)


async def _outage(
    cluster: Cluster, proxy: BackgroundProxy, traffic: TimedTraffic, done: asyncio.Event
) -> Outage:
    seen = Outage()
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(HANG)) as client:
            while not traffic.started:
                await asyncio.sleep(0.05)
            await asyncio.sleep(BEFORE)
            await asyncio.to_thread(proxy.set_mode, "refused")
            seen.down = time.monotonic()
            while time.monotonic() - seen.down < OUTAGE:
                for hub, url in enumerate(cluster.hub_urls):
                    status, failed = await _ready(client, url)
                    seen.ready_during.append((hub, status, failed))
                await asyncio.sleep(0.25)
            await asyncio.to_thread(proxy.set_mode, "pass")
            seen.up = time.monotonic()
            while len(seen.ready_after) < len(cluster.hubs) and time.monotonic() - seen.up < HANG:
                for hub, url in enumerate(cluster.hub_urls):
                    if hub not in seen.ready_after and (await _ready(client, url))[0] == 200:
                        seen.ready_after[hub] = time.monotonic() - seen.up
                await asyncio.sleep(0.1)
            await asyncio.sleep(max(0.0, traffic.started + LOAD - time.monotonic()))
    finally:
        if proxy.mode != "pass":
            await asyncio.to_thread(proxy.set_mode, "pass")
        done.set()
    return seen


async def _drive(cluster: Cluster, proxy: BackgroundProxy, traffic: TimedTraffic) -> Outage:
    done = asyncio.Event()
    watcher = asyncio.create_task(_outage(cluster, proxy, traffic, done))
    await traffic.run(until=done.is_set)
    return await watcher


def test_postgresql_gone_during_the_load_gives_clean_503s_then_the_same_hubs_recover(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    real = make_url(server_url("DATARUN_TEST_POSTGRES_URL"))
    with BackgroundProxy(real.host or "127.0.0.1", real.port or 5432, protocol="tcp") as proxy:
        config = ClusterConfig(
            hubs=2,
            postgres_url=real.render_as_string(hide_password=False),
            people=DEMO_SOURCES_PEOPLE,
            workdir=tmp_path / "cluster",
            sources_dir=scaleout_sources,
            hub_database_port=proxy.port,
            settings={
                "idempotency_in_flight_seconds": IN_FLIGHT,
                "application_retry_poll_seconds": 1,
                "application_retry_schedule_seconds": [1, 2, 4, 8],
            },
        )
        with Cluster(config, say=print) as cluster:
            assert cluster.sources is not None and cluster.settings is not None
            assert str(proxy.port) in cluster.values["database_url"]
            pids = [hub.pid for hub in cluster.hubs]
            traffic = TimedTraffic(
                urls=cluster.hub_urls,
                workload=load_workload(cluster.sources),
                token=lambda: cluster.system_token(WINDOW),
                pulls=40,
                applications=4,
                concurrency=6,
                max_seconds=LOAD + 30,
                case_deadline=IN_FLIGHT + 20,
            )
            asyncio.run(traffic.probe())
            outage = asyncio.run(_drive(cluster, proxy, traffic))
            drain(cluster.engine, timeout=20)
            log = check_log(cluster.engine, traffic.attempts)
            verified = verify(
                cluster.engine,
                secret=cluster.settings.secret_key.get_secret_value(),
                witness_dir=cluster.data_dir / "checkpoints",
            )
            cases = check_applications(cluster.engine, traffic.cases)
            # The same processes served throughout: none died, none was started again.
            assert [hub.pid for hub in cluster.hubs] == pids
            assert all(hub.alive and hub.starts == 1 for hub in cluster.hubs)

    attempts = [a for a in traffic.attempts if a.kind != "probe"]
    inside = [
        a
        for a in attempts
        if traffic.sent[a.request_id].started >= outage.down
        and traffic.sent[a.request_id].ended <= outage.up
    ]
    after = [a for a in attempts if traffic.sent[a.request_id].started >= outage.up]
    statuses = sorted({a.status for a in attempts})
    print(
        f"{len(attempts)} requests, statuses {statuses}; {len(inside)} inside the outage, "
        f"{len(after)} after; ready again after {outage.ready_after}; log: {log}"
    )
    # Every request got an answer in time; none was a 500 (or any 5xx but 503).
    assert all(a.status != 0 for a in attempts), [a for a in attempts if a.status == 0][:5]
    assert all(a.status < 500 or a.status == 503 for a in attempts), statuses
    assert max(a.ms for a in attempts) < HANG * 1000
    # Inside the outage: only clean 503 problems.
    assert len(inside) >= 10, "the outage met too little traffic to tell anything"
    said = Counter(
        (a.kind, a.status, a.detail, traffic.sent[a.request_id].retry_after) for a in inside
    )
    print("inside the outage (kind, status, detail, Retry-After):", dict(said))
    for attempt in inside:
        sent = traffic.sent[attempt.request_id]
        assert attempt.status == 503, (attempt, sent)
        assert sent.content_type.startswith("application/problem+json"), (attempt, sent)
    # /readyz: 503 naming the database on every hub during the outage, 200 after it.
    during = [(hub, status) for hub, status, _ in outage.ready_during]
    assert during and all(status == 503 for _, status in during), during
    assert all("database" in failed for _, _, failed in outage.ready_during)
    assert set(outage.ready_after) == {0, 1}, outage.ready_after
    # The same processes answer data again after PostgreSQL is back, each of them.
    served_after = {a.hub for a in after if a.ok and a.kind in ("pull", "pull-get")}
    assert served_after == {0, 1}, sorted({(a.hub, a.status) for a in after})
    # Nothing answered with data lacks its entry; the log holds nothing else; it verifies.
    assert log.lost == 0, log.examples
    assert log.other == 0
    assert verified.ok, verified.problems
    print(f"applications: {cases}")
    assert cases.duplicates == 0 and cases.unknown_numbers == 0
    assert cases.replays_differing == 0
    # Every application the outage refused was accepted once resubmitted with its key.
    assert cases.accepted == len(traffic.cases) and cases.stuck == 0, cases
