"""``python -m loadtest run|crash``: the load harness and the crash test (loopback only).

    python -m loadtest run                        # 10,000 pulls + 1,000 applications, 2 hubs
    python -m loadtest run --pulls 2000 --applications 200 --hubs 3
    python -m loadtest crash --rounds 20          # kill -9 a hub 20 times during the load

PostgreSQL with ``--postgres-url`` (or ``DATARUN_LOADTEST_POSTGRES_URL``): a database of
the run's own is created there and dropped afterwards; without, a SQLite file. Exits 1
when a check fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from loadtest.runner import Options, Outcome, execute

app = typer.Typer(no_args_is_help=True, help="DataRun under load: mixed traffic, crashes, checks.")

Hubs = Annotated[int, typer.Option(min=1, max=16, help="hub processes")]
Pulls = Annotated[int, typer.Option(min=0, help="record pulls (at least)")]
Applications = Annotated[int, typer.Option(min=0, help="applications submitted (at least)")]
Concurrency = Annotated[int, typer.Option(min=1, max=512, help="concurrent clients")]
People = Annotated[int, typer.Option(min=50, help="people in the demo departments' data")]
PostgresUrl = Annotated[
    str | None,
    typer.Option(
        envvar="DATARUN_LOADTEST_POSTGRES_URL",
        help="PostgreSQL server URL (a database of the run's own is made there)",
    ),
]
MaxSeconds = Annotated[float, typer.Option(min=1, help="stop starting new requests after this")]
Seed = Annotated[int, typer.Option(help="seed of the traffic (same seed: same requests)")]
Keep = Annotated[bool, typer.Option(help="keep the work directory and the database")]
Setting = Annotated[
    list[str] | None,
    typer.Option("--set", help="a hub setting for every process, NAME=VALUE (repeatable)"),
]
JsonOut = Annotated[Path | None, typer.Option("--json", help="also write the figures here")]


def _settings(pairs: list[str] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--set")
        found[name.strip().lower().removeprefix("datarun_")] = value
    return found


def _finish(outcome: Outcome, json_out: Path | None) -> None:
    typer.echo("\n".join(outcome.lines))
    if json_out is not None:
        json_out.write_text(json.dumps(figures(outcome), indent=2, default=str) + "\n")
    typer.echo("PASS" if outcome.ok else "FAIL")
    if not outcome.ok:
        raise typer.Exit(1)


def figures(outcome: Outcome) -> dict[str, Any]:
    """Return the run's figures as JSON-ready data."""
    from loadtest.report import stats

    traffic = outcome.traffic
    return {
        "seconds": traffic.seconds,
        "traffic": [
            {**vars(s), "statuses": dict(s.statuses)}
            for s in stats(traffic.attempts, traffic.seconds)
        ],
        "log": vars(outcome.log),
        "verify_ok": outcome.verified.ok,
        "applications": {**vars(outcome.cases), "refused": dict(outcome.cases.refused)},
        "kills": [vars(r) for r in outcome.rounds],
        "ok": outcome.ok,
    }


@app.command()
def run(
    hubs: Hubs = 2,
    pulls: Pulls = 10_000,
    applications: Applications = 1_000,
    concurrency: Concurrency = 16,
    people: People = 20_000,
    postgres_url: PostgresUrl = None,
    max_seconds: MaxSeconds = 900.0,
    seed: Seed = 1,
    keep: Keep = False,
    setting: Setting = None,
    json_out: JsonOut = None,
) -> None:
    """Mixed load of pulls and applications over N hubs; then 0 lost and audit verify."""
    options = Options(
        hubs=hubs,
        pulls=pulls,
        applications=applications,
        concurrency=concurrency,
        people=people,
        postgres_url=postgres_url or None,
        max_seconds=max_seconds,
        seed=seed,
        keep=keep,
        settings=_settings(setting),
    )
    _finish(execute(options, say=typer.echo), json_out)


@app.command()
def crash(
    rounds: Annotated[int, typer.Option(min=1, max=1000, help="kill -9 rounds")] = 20,
    hubs: Hubs = 2,
    pulls: Pulls = 3_000,
    applications: Applications = 300,
    concurrency: Concurrency = 16,
    people: People = 20_000,
    postgres_url: PostgresUrl = None,
    max_seconds: MaxSeconds = 900.0,
    drain_seconds: Annotated[
        float, typer.Option(min=0, help="wait this long for retries to settle materials")
    ] = 150.0,
    department_every: Annotated[
        int, typer.Option(min=0, help="every Nth kill takes the HTTP department down too")
    ] = 4,
    seed: Seed = 1,
    keep: Keep = False,
    setting: Setting = None,
    json_out: JsonOut = None,
) -> None:
    """Kill -9 a hub process ROUNDS times during the load; then nothing lost, verify, cases."""
    options = Options(
        hubs=hubs,
        pulls=pulls,
        applications=applications,
        concurrency=concurrency,
        people=people,
        postgres_url=postgres_url or None,
        max_seconds=max_seconds,
        seed=seed,
        keep=keep,
        settings=_settings(setting),
        rounds=rounds,
        drain_seconds=drain_seconds,
        department_every=department_every,
    )
    _finish(execute(options, say=typer.echo), json_out)


@app.command(hidden=True)
def department(
    database: Annotated[Path, typer.Option(help="the department's SQLite database")],
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")],
    key_file: Annotated[Path, typer.Option(help="its API key file")],
) -> None:
    """Run the demo HTTP department (a process of the cluster)."""
    from loadtest.department import serve

    serve(database, port=port, key_file=key_file)


if __name__ == "__main__":
    sys.exit(app())
