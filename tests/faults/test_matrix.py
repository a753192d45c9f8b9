"""Two cells of the fault matrix through the test hub (the whole matrix: python -m faults)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from faults import setup
from faults.matrix import Matrix, Scenario, judge, summary
from faults.traffic import Observation, PullTraffic, Source
from tests.faults.conftest import METRICS_TOKEN


def _matrix(client: TestClient, sources: list[Source], headers: dict[str, str]) -> Matrix:
    traffic = PullTraffic(headers=headers, purpose=setup.PURPOSE, budget=setup.DEADLINE_SECONDS)
    return Matrix(
        client=client,
        traffic=[traffic],
        sources=sources,
        breaker_cooldown=setup.BREAKER_COOLDOWN_SECONDS,
        time_limit=60,
        metrics_headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
    )


def test_the_hub_survives_a_refused_source_and_garbage_from_all(
    proxied_hub: TestClient, sources: list[Source], window_headers: dict[str, str]
) -> None:
    matrix = _matrix(proxied_hub, sources, window_headers)
    outcomes = matrix.run([Scenario("refused", "one"), Scenario("garbage", "all")])
    problems = [f"{o.scenario.name}: {p}" for o in outcomes for p in o.problems]
    assert not problems, "\n".join(problems)
    assert summary(outcomes) == "survived 2 / 2"
    # The breaker of the refused source opened, then closed again once it answered.
    metrics = proxied_hub.get("/metrics", headers=matrix.metrics_headers).text
    refused = sources[0].resource
    opened = [
        line
        for line in metrics.splitlines()
        if line.startswith("datarun_connector_breaker_opened_total")
        and f'resource="{refused}"' in line
    ]
    assert opened and float(opened[0].rsplit(" ", 1)[1]) >= 1


def _obs(**kw: object) -> Observation:
    base: dict[str, object] = {
        "traffic": "pull",
        "source": "306001001/000001",
        "status": 503,
        "outcome": "unavailable",
        "reason": "timeout",
        "elapsed": 1.0,
        "budget": 2.0,
        "problem_type": "source-unavailable",
        "retry_after": None,
    }
    base.update(kw)
    return Observation(**base)  # type: ignore[arg-type]


def test_the_judge_names_what_a_caller_would_notice() -> None:
    assert judge(_obs(), "timeout", faulty=True) == []
    assert judge(_obs(elapsed=2.3), "timeout", faulty=True) == [
        "pull 306001001/000001: 2.30 s, over the 2 s budget + 10 %"
    ]
    assert (
        "unhandled 500"
        in judge(_obs(status=500, problem_type="internal-error"), "timeout", True)[0]
    )
    assert "unhandled 502" in judge(_obs(status=502, problem_type=None), "timeout", True)[0]
    assert "expected unavailable" in judge(_obs(reason="unreachable"), "timeout", True)[0]
    # A healthy source must answer, a slow one too; a 429 passed on must say when to retry.
    assert "from a source that answers" in judge(_obs(), "refused", faulty=False)[0]
    assert judge(_obs(status=200, outcome="ok", reason=None), "slow", faulty=True) == []
    assert "without Retry-After" in judge(_obs(reason="rate_limited"), "rate_limited", True)[0]
