"""The load harness and the crash test, bounded: what ``python -m loadtest`` runs, smaller.

Two hub processes, the demo HTTP department and mixed traffic (300 pulls, 30 applications);
on PostgreSQL when ``DATARUN_TEST_POSTGRES_URL`` is set, else on SQLite. Afterwards every
data answer must have its access-log entries, the log must verify, and every accepted
application must be whole. The crash run kills a hub twice with SIGKILL (the second time
the HTTP department too, so some materials are left to the background retries).
"""

from __future__ import annotations

from pathlib import Path

from loadtest.runner import Options, Outcome, execute
from tests.fixtures.demo import DEMO_SOURCES_PEOPLE
from tests.scaleout.conftest import load_database


def _options(tmp_path: Path, sources: Path, **more: object) -> Options:
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


def _show(outcome: Outcome) -> str:
    return "\n".join(outcome.lines)


def test_mixed_load_over_two_processes_loses_nothing(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    outcome = execute(_options(tmp_path, scaleout_sources), say=print)
    print(_show(outcome))
    kinds = {a.kind for a in outcome.traffic.attempts}
    assert {"pull", "pull-get", "submit", "read"} <= kinds
    assert {a.hub for a in outcome.traffic.attempts if a.ok} == {0, 1}
    assert all(a.ok for a in outcome.traffic.attempts if a.kind != "probe"), _show(outcome)
    # Every data answer has its entries, and the log holds no data entry besides them.
    assert outcome.log.lost == 0 and outcome.log.equal, _show(outcome)
    assert outcome.log.served == 300 + 30 * 2 + outcome.cases.replays + len(
        [a for a in outcome.traffic.attempts if a.kind == "probe"]
    )
    assert outcome.verified.ok, outcome.verified.problems
    assert outcome.cases.accepted == 30 and outcome.cases.orphans == 0
    assert outcome.cases.ok and outcome.ok, _show(outcome)


def test_kill_9_during_the_load_loses_no_answered_data(
    tmp_path: Path, scaleout_sources: Path
) -> None:
    options = _options(
        tmp_path,
        scaleout_sources,
        rounds=2,
        pause=(0.5, 1.0),
        department_every=2,
        drain_seconds=90.0,
    )
    outcome = execute(options, say=print)
    print(_show(outcome))
    assert len(outcome.rounds) == 2 and all(r.pid for r in outcome.rounds)
    # Nothing answered with data lacks its entry; nothing logged came from elsewhere.
    assert outcome.log.lost == 0, outcome.log.examples
    assert outcome.log.other == 0
    assert outcome.verified.ok, outcome.verified.problems
    # Every case the window submitted was accepted in the end (resubmitted with its key).
    assert outcome.cases.accepted == len(outcome.traffic.cases) >= 30, _show(outcome)
    assert outcome.cases.duplicates == 0 and outcome.cases.unknown_numbers == 0
    assert outcome.cases.replays_differing == 0
    # No material of an accepted case is left unavailable: the retries settled them.
    assert outcome.cases.stuck == 0, _show(outcome)
