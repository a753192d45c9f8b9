"""The load harness and the crash test, bounded: what ``python -m loadtest`` runs, smaller.

Two hub processes, the demo HTTP department and mixed traffic (300 pulls, 30 applications);
on PostgreSQL when ``DATARUN_TEST_POSTGRES_URL`` is set, else on SQLite. Afterwards every
data answer must have its access-log entries, the log must hold no other data entry and
must verify, and every application must be whole. The crash runs are in test_crash.py.
"""

from __future__ import annotations

from pathlib import Path

from loadtest.runner import Options, Outcome, execute
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.scaleout.conftest import load_database


def options_for(tmp_path: Path, sources: Path, **more: object) -> Options:
    options = Options(
        hubs=2,
        pulls=300,
        applications=30,
        concurrency=8,
        people=DEMO_SOURCES_PEOPLE,
        postgres_url=load_database(),
        max_seconds=120,
        workdir=tmp_path / "cluster",
        sources_dir=sources,
    )
    for name, value in more.items():
        setattr(options, name, value)
    return options


def show(outcome: Outcome) -> str:
    return "\n".join(outcome.lines)


def test_mixed_load_over_two_processes_loses_nothing(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    outcome = execute(options_for(tmp_path, scaleout_sources), say=print)
    print(show(outcome))
    kinds = {a.kind for a in outcome.traffic.attempts}
    assert {"pull", "pull-get", "submit", "read"} <= kinds
    assert {a.hub for a in outcome.traffic.attempts if a.ok} == {0, 1}
    assert all(a.ok for a in outcome.traffic.attempts if a.kind != "probe"), show(outcome)
    # Every data answer has its entries, and the log holds no data entry besides them.
    assert outcome.log.lost == 0 and outcome.log.equal, show(outcome)
    probes = [a for a in outcome.traffic.attempts if a.kind == "probe" and a.ok]
    assert outcome.log.served == 300 + 30 * 2 + outcome.cases.replays + len(probes)
    assert outcome.verified.ok, outcome.verified.problems
    assert outcome.cases.accepted == 30 and outcome.cases.orphans == 0
    assert outcome.cases.ok and outcome.ok, show(outcome)
