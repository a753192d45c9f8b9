"""``run`` and ``crash``: bring the cluster up, drive the load, check, print the summary."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange.audit.findings import VerifyResult
from loadtest import report
from loadtest.checks import (
    CaseCheck,
    LogCheck,
    check_applications,
    check_log,
    drain,
    verify,
)
from loadtest.cluster import Cluster, ClusterConfig
from loadtest.traffic import Traffic
from loadtest.workload import WINDOW, load_workload

Say = Callable[[str], None]
DEPARTMENT_OUTAGE = 2.0  # seconds the HTTP department stays down when it is killed too


@dataclass
class Options:
    """One run: the cluster, the load and (for ``crash``) the kills."""

    hubs: int = 2
    pulls: int = 10_000
    applications: int = 1_000
    concurrency: int = 16
    people: int = 20_000
    postgres_url: str | None = None
    max_seconds: float = 900.0
    seed: int = 1
    keep: bool = False
    workdir: Path | None = None
    sources_dir: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    drain_seconds: float = 30.0
    # crash only
    rounds: int = 0
    pause: tuple[float, float] = (1.0, 3.0)  # seconds between the kills (uniform)
    department_every: int = 4  # every Nth kill also takes the HTTP department down (0: never)
    in_flight_seconds: float = 8.0  # DATARUN_IDEMPOTENCY_IN_FLIGHT_SECONDS during a crash run


@dataclass(frozen=True)
class KillRound:
    """One ``kill -9`` of a hub process and its restart."""

    number: int
    hub: int
    pid: int | None
    in_flight: int  # requests the clients had open on it when it died
    ready_seconds: float  # restart until /readyz answered 200
    department: bool  # the HTTP department was killed too


@dataclass
class Outcome:
    """What a run measured and found."""

    traffic: Traffic
    log: LogCheck
    verified: VerifyResult
    cases: CaseCheck
    rounds: list[KillRound]
    lines: list[str]

    @property
    def ok(self) -> bool:
        """Tell whether every check passed."""
        crashed = bool(self.rounds)
        log_ok = self.log.lost == 0 and self.log.other == 0 and (crashed or self.log.equal)
        return log_ok and self.verified.ok and self.cases.ok and not self.traffic.timed_out


def crash_settings(options: Options) -> dict[str, Any]:
    """Return the hub settings of a crash run: fast retries, a short in-flight window."""
    return {
        "idempotency_in_flight_seconds": options.in_flight_seconds,
        "application_retry_poll_seconds": 1,
        "application_retry_schedule_seconds": [1, 2, 4, 8, 15, 30],
        **options.settings,
    }


def execute(options: Options, *, say: Say = print) -> Outcome:
    """Run the load (with kills when ``options.rounds``) and check; return the outcome."""
    settings = crash_settings(options) if options.rounds else dict(options.settings)
    config = ClusterConfig(
        hubs=options.hubs,
        postgres_url=options.postgres_url,
        people=options.people,
        seed=20261127,
        workdir=options.workdir,
        keep=options.keep,
        settings=settings,
        sources_dir=options.sources_dir,
    )
    with Cluster(config, say=say) as cluster:
        workload = load_workload(cluster.sources) if cluster.sources else None
        assert workload is not None and cluster.settings is not None
        in_flight = float(settings.get("idempotency_in_flight_seconds", 120.0))
        traffic = Traffic(
            urls=cluster.hub_urls,
            workload=workload,
            token=lambda: cluster.system_token(WINDOW),
            pulls=options.pulls,
            applications=options.applications,
            concurrency=options.concurrency,
            seed=options.seed,
            max_seconds=options.max_seconds,
            case_deadline=in_flight + 60.0,
        )
        say(
            f"load: {options.pulls:,} pulls and {options.applications:,} applications at least, "
            f"{options.concurrency} clients over {options.hubs} hubs"
            + (f", {options.rounds} kill -9 rounds" if options.rounds else "")
        )
        rounds = asyncio.run(_drive(cluster, traffic, options, say))
        say(f"load done in {traffic.seconds:.1f} s; draining background retries")
        drained = drain(cluster.engine, timeout=options.drain_seconds, say=say)
        log = check_log(cluster.engine, traffic.attempts)
        verified = verify(
            cluster.engine,
            secret=cluster.settings.secret_key.get_secret_value(),
            witness_dir=cluster.data_dir / "checkpoints",
        )
        cases = check_applications(cluster.engine, traffic.cases)
        cases.drained_seconds = drained
        lines = _summary(cluster, traffic, options, log, verified, cases, rounds)
    return Outcome(traffic, log, verified, cases, rounds, lines)


async def _drive(cluster: Cluster, traffic: Traffic, options: Options, say: Say) -> list[KillRound]:
    await traffic.probe()
    dropped = {k: v for k, v in traffic.probed.items() if v != 200}
    if dropped:
        say(f"  pull kinds left out (their probe did not answer 200): {dropped}")
    if not options.rounds:
        await traffic.run()
        return []
    done = asyncio.Event()
    killer = asyncio.create_task(_kill_rounds(cluster, traffic, options, done, say))
    await traffic.run(until=done.is_set)
    return await killer


async def _kill_rounds(
    cluster: Cluster, traffic: Traffic, options: Options, done: asyncio.Event, say: Say
) -> list[KillRound]:
    rng = random.Random(options.seed)
    rounds: list[KillRound] = []
    try:
        while len(traffic.attempts) < 2 * options.concurrency:
            await asyncio.sleep(0.05)
        for number in range(1, options.rounds + 1):
            await asyncio.sleep(rng.uniform(*options.pause))
            hub = rng.randrange(len(cluster.hubs))
            open_requests = traffic.balancer.in_flight[hub]
            pid = await asyncio.to_thread(cluster.kill_hub, hub)
            traffic.balancer.hold(hub)
            with_department = (
                options.department_every > 0 and number % options.department_every == 0
            )
            outage = None
            if with_department:  # down for a couple of seconds, while the hub restarts
                await asyncio.to_thread(cluster.kill_department)
                outage = asyncio.create_task(_department_back(cluster, DEPARTMENT_OUTAGE))
            await asyncio.sleep(0.5)
            ready = await asyncio.to_thread(_restart, cluster, hub, say)
            traffic.balancer.release(hub)
            if outage is not None:
                await outage
            rounds.append(KillRound(number, hub, pid, open_requests, ready, with_department))
            too = ", department too" if with_department else ""
            say(
                f"  kill {number}/{options.rounds}: hub-{hub} (pid {pid}, {open_requests} "
                f"requests open{too}), ready again in {ready:.1f} s"
            )
    finally:
        done.set()
    return rounds


async def _department_back(cluster: Cluster, after: float) -> None:
    await asyncio.sleep(after)
    await asyncio.to_thread(cluster.start_department)


def _restart(cluster: Cluster, hub: int, say: Say, tries: int = 3) -> float:
    """Start a killed hub again and wait until it is ready (a failed start is tried again)."""
    started = time.monotonic()
    for attempt in range(1, tries + 1):
        cluster.start_hub(hub)
        try:
            cluster.wait_ready(hub)
            return time.monotonic() - started
        except RuntimeError as exc:
            if attempt == tries:
                raise
            say(f"  hub-{hub} did not come back (try {attempt}): {str(exc).splitlines()[-1]}")
            time.sleep(2.0)
    raise AssertionError("unreachable")


def _summary(
    cluster: Cluster,
    traffic: Traffic,
    options: Options,
    log: LogCheck,
    verified: VerifyResult,
    cases: CaseCheck,
    rounds: list[KillRound],
) -> list[str]:
    backend = "PostgreSQL" if cluster.is_postgres else "SQLite"
    rows = report.stats(traffic.attempts, traffic.seconds)
    what = "crash" if rounds else "run"
    lines = [
        "",
        f"DataRun load {what}: {options.hubs} hub processes (datarun serve) on {backend}, "
        f"{options.concurrency} clients, {options.people:,} people; "
        f"{traffic.seconds:.1f} s of load" + (" (TIME LIMIT HIT)" if traffic.timed_out else ""),
        *report.traffic_table(rows, traffic.seconds),
        *report.error_lines(traffic.attempts),
        "access log:",
        *report.log_lines(log, verified),
        "applications:",
        *report.case_lines(cases),
    ]
    if rounds:
        ready = [r.ready_seconds for r in rounds]
        lines += [
            "kills:",
            f"  {len(rounds)} kill -9 of a hub process ({sum(r.department for r in rounds)} with "
            f"the HTTP department), {sum(r.in_flight for r in rounds)} requests open at the "
            f"kills; restart to ready {min(ready):.1f}–{max(ready):.1f} s "
            f"(mean {sum(ready) / len(ready):.1f})",
        ]
    return lines
