"""The fault matrix: each proxy mode × {one source, all sources}, through the real hub.

A scenario puts the chosen sources' proxies in one mode and sends rounds of traffic
(``Traffic``: record pulls, and later applications) through the hub, then switches them
back and waits for the hub to recover. It survives when, for every answer:

- it came within the traffic's time budget + 10 %;
- no 5xx was unhandled: a 503 ``application/problem+json`` naming the source
  (``source-unavailable``) is the hub handling a down source; a 500, 502, 504 or a 503 of
  another kind is not;
- each source had the right status: a faulty source "unavailable" for a reason that fits
  the fault (or ``circuit_open``), a healthy or merely slow one "ok";

and, for the modes that fail a source, each faulty source's circuit breaker opened (some
answer said ``circuit_open``; the breaker gauge on ``/metrics`` too when readable), and
after the fault every source answered "ok" again, its breaker closed, within a few
cool-downs, without restarting anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import httpx

from faults.traffic import Observation, Source, Traffic

# What a faulty source's answers may say, by mode (circuit_open always may, once open).
FAILING: dict[str, frozenset[str]] = {
    "timeout": frozenset({"timeout"}),
    "http_500": frozenset({"error"}),
    "refused": frozenset({"unreachable"}),
    "garbage": frozenset({"bad_response"}),
    "oversized": frozenset({"bad_response"}),
    "rate_limited": frozenset({"rate_limited"}),
}
SURVIVABLE = ("slow",)  # the source still answers in time: callers must get their data
ALL_MODES = ("timeout", "http_500", "refused", "slow", "garbage", "oversized", "rate_limited")
HANDLED_5XX = frozenset({"source-unavailable"})
# A source that said when to come back (429), or a breaker that knows: the 503 says it too.
WITH_RETRY_AFTER = frozenset({"rate_limited", "circuit_open"})
MARGIN = 1.10

Scope = Literal["one", "all"]


@dataclass(frozen=True)
class Scenario:
    """One cell of the matrix."""

    mode: str
    scope: Scope

    @property
    def name(self) -> str:
        """E.g. ``timeout × one source``."""
        return f"{self.mode} × {'one source' if self.scope == 'one' else 'all sources'}"


@dataclass
class Outcome:
    """What happened in one scenario."""

    scenario: Scenario
    problems: list[str] = field(default_factory=list)
    answers: int = 0
    seconds: float = 0.0

    @property
    def survived(self) -> bool:
        """True when nothing went wrong."""
        return not self.problems


@dataclass
class Matrix:
    """How the matrix runs: traffic, sources, rounds, breaker timing, time limit."""

    client: httpx.Client
    traffic: Sequence[Traffic]
    sources: Sequence[Source]
    breaker_cooldown: float
    fault_rounds: int = 5
    recovery_seconds: float = 10.0
    time_limit: float = 600.0
    metrics_headers: dict[str, str] | None = None
    say: Callable[[str], None] = lambda _line: None

    def run(self, scenarios: Sequence[Scenario]) -> list[Outcome]:
        """Run ``scenarios`` in order (those past the time limit fail as not run)."""
        stop_at = time.monotonic() + self.time_limit
        outcomes: list[Outcome] = []
        self.warm_up()
        for scenario in scenarios:
            if time.monotonic() > stop_at:
                outcome = Outcome(scenario, ["not run: the time limit was reached"])
            else:
                outcome = self.run_one(scenario)
            self.say(_line(outcome))
            outcomes.append(outcome)
        return outcomes

    def warm_up(self) -> None:
        """Send one healthy round first: connectors, caches and keys are made before the
        first scenario, whose answers would otherwise pay for the hub's cold start."""
        for source in self.sources:
            source.proxy.set_mode("pass")
        for traffic in self.traffic:
            traffic.exercise(self.client, self.sources)

    def run_one(self, scenario: Scenario) -> Outcome:
        """Inject the fault, check the answers, lift it, check the recovery."""
        outcome = Outcome(scenario)
        started = time.monotonic()
        faulty = list(self.sources[:1] if scenario.scope == "one" else self.sources)
        faulty_codes = {s.resource for s in faulty}
        opened_before = self._gauge("datarun_connector_breaker_opened_total")
        for source in self.sources:
            source.proxy.set_mode(scenario.mode if source in faulty else "pass")
        try:
            seen: list[Observation] = []
            for _ in range(self.fault_rounds):
                for traffic in self.traffic:
                    seen += traffic.exercise(self.client, self.sources)
            outcome.answers += len(seen)
            for obs in seen:
                outcome.problems += judge(obs, scenario.mode, obs.source in faulty_codes)
            if scenario.mode in FAILING:
                outcome.problems += self._breakers_opened(seen, faulty_codes, opened_before)
        finally:
            for source in self.sources:
                source.proxy.set_mode("pass")
        outcome.problems += self._recovers(outcome)
        outcome.seconds = time.monotonic() - started
        return outcome

    def _breakers_opened(
        self, seen: Sequence[Observation], faulty: set[str], opened_before: dict[str, float]
    ) -> list[str]:
        # Evidence that a breaker opened: an answer said circuit_open, or the hub's counter
        # of openings went up. (A short cool-down can let every later call be a half-open
        # probe, whose failure is reported with the source's own reason.)
        opened = {o.source for o in seen if o.reason == "circuit_open"}
        after = self._gauge("datarun_connector_breaker_opened_total")
        opened |= {code for code, n in after.items() if n > opened_before.get(code, 0.0)}
        reached = faulty & {o.source for o in seen}  # a source no traffic read cannot open
        return [f"{code}: the breaker never opened" for code in sorted(reached - opened)]

    def _recovers(self, outcome: Outcome) -> list[str]:
        # Past one cool-down an open breaker lets a probe through; a second round may be
        # needed when the probe raced the fault's last in-flight call.
        time.sleep(self.breaker_cooldown + 0.1)
        deadline = time.monotonic() + self.recovery_seconds
        last: list[Observation] = []
        while time.monotonic() < deadline:
            last = [o for t in self.traffic for o in t.exercise(self.client, self.sources)]
            outcome.answers += len(last)
            if all(o.outcome == "ok" for o in last):
                states = self._breaker_states()
                still_open = sorted(code for code, v in states.items() if v > 0)
                if still_open:
                    return [f"{', '.join(still_open)}: breaker not closed after recovery"]
                return []
            time.sleep(self.breaker_cooldown / 2)
        bad = sorted({f"{o.source} ({o.status} {o.reason})" for o in last if o.outcome != "ok"})
        return [f"no recovery within {self.recovery_seconds:g} s: {', '.join(bad)}"]

    def _breaker_states(self) -> dict[str, float]:
        """Read the breaker gauge per resource from /metrics (empty when not readable)."""
        return self._gauge("datarun_connector_breaker_state")

    def _gauge(self, name: str) -> dict[str, float]:
        """Read metric ``name`` per source's resource from /metrics (empty if unreadable)."""
        if self.metrics_headers is None:
            return {}
        response = self.client.get("/metrics", headers=self.metrics_headers)
        if response.status_code != 200:
            return {}
        codes = {s.resource for s in self.sources}
        values: dict[str, float] = {}
        for line in response.text.splitlines():
            if not line.startswith(name + "{"):
                continue
            labels, _, value = line.rpartition(" ")
            for code in codes:
                if f'resource="{code}"' in labels:
                    values[code] = values.get(code, 0.0) + float(value)
        return values


def judge(obs: Observation, mode: str, faulty: bool) -> list[str]:
    """Return what is wrong with one answer (empty: nothing)."""
    problems = []
    where = f"{obs.traffic} {obs.source}"
    if obs.status >= 500 and not (obs.status == 503 and obs.problem_type in HANDLED_5XX):
        problems.append(f"{where}: unhandled {obs.status} ({obs.problem_type})")
    if obs.elapsed > obs.budget * MARGIN:
        problems.append(f"{where}: {obs.elapsed:.2f} s, over the {obs.budget:g} s budget + 10 %")
    if not faulty or mode in SURVIVABLE:
        if obs.outcome != "ok":
            problems.append(f"{where}: {obs.status} {obs.reason} from a source that answers")
        return problems
    expected = FAILING[mode] | {"circuit_open"}
    wrong_reason = obs.says_reason and obs.reason not in expected
    if obs.outcome != "unavailable" or wrong_reason:
        wanted = ", ".join(sorted(expected))
        problems.append(f"{where}: {obs.status} {obs.reason}, expected unavailable ({wanted})")
    elif obs.status == 503 and obs.retry_after is None and obs.reason in WITH_RETRY_AFTER:
        problems.append(f"{where}: 503 {obs.reason} without Retry-After")
    return problems


def scenarios(
    modes: Sequence[str] = ALL_MODES, scopes: Sequence[Scope] = ("one", "all")
) -> list[Scenario]:
    """Return the matrix's cells: every mode with every scope."""
    return [Scenario(mode, scope) for mode in modes for scope in scopes]


def _line(outcome: Outcome) -> str:
    mark = "survived" if outcome.survived else "FAILED  "
    name, answers, seconds = outcome.scenario.name, outcome.answers, outcome.seconds
    head = f"  {mark} {name:<32} {answers:>3} answers {seconds:5.1f} s"
    if outcome.survived:
        return head
    return head + "".join(f"\n      - {p}" for p in outcome.problems[:8])


def summary(outcomes: Sequence[Outcome]) -> str:
    """Return ``survived X / Y``."""
    return f"survived {sum(o.survived for o in outcomes)} / {len(outcomes)}"
