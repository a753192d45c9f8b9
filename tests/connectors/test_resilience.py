"""ResilientConnector around the HTTP adapter, against a real JSON API on loopback.

Requests are counted at the server. Time bounds are generous upper limits (a noisy 2-core
machine must not fail them); lower bounds only where a sleep guarantees them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from connectors.adapters.http import HttpConfig, HttpConnector
from connectors.base import Binding, BindingInvalid, SourceUnavailable
from connectors.resilience import ResiliencePolicy, ResilientConnector, wrap
from connectors.testing.sample import COLUMNS, KEY_ITEM, PEOPLE_KEYS, RESOURCE_CODE
from tests.connectors import restserver
from tests.connectors.restserver import RestServer

T = TypeVar("T")
KEY = PEOPLE_KEYS[0]


@pytest.fixture(scope="module")
def server() -> Iterator[RestServer]:
    with restserver.running() as s:
        yield s


@pytest.fixture
def api(server: RestServer) -> Iterator[RestServer]:
    server.reset()
    yield server
    server.reset()


def resilient(api: RestServer, timeout: float = 10.0, **policy: Any) -> ResilientConnector:
    config = HttpConfig.model_validate(
        {
            "url": api.url("/api/people"),
            "key_param": "ids",
            "records_path": "data.items",
            "timeout_seconds": timeout,
        },
        context={"http_allowlist": ["127.0.0.1:*"]},
    )
    binding = Binding(RESOURCE_CODE, "http", config, KEY_ITEM, dict(COLUMNS))
    # Generous deadline unless a test is about it: a loaded CI machine must not time out.
    defaults = {
        "deadline_seconds": 15.0,
        "backoff_initial_seconds": 0.01,
        "backoff_jitter_seconds": 0.01,
    }
    return ResilientConnector(HttpConnector(binding), ResiliencePolicy(**{**defaults, **policy}))


def run(connector: ResilientConnector, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario`` in one loop, bounded so that no test can hang, then close."""

    async def main() -> T:
        try:
            async with asyncio.timeout(30):
                return await scenario()
        finally:
            await connector.close()

    return asyncio.run(main())


async def fails(connector: ResilientConnector, items: list[str] | None = None) -> SourceUnavailable:
    with pytest.raises(SourceUnavailable) as caught:
        await connector.lookup([KEY], items or ["name"])
    return caught.value


# ---- retries ---------------------------------------------------------------------------


def test_a_transient_error_is_retried_until_it_succeeds(api: RestServer) -> None:
    api.fault("status", status=503, times=2)
    c = resilient(api, retries=2)
    result = run(c, lambda: c.lookup([KEY], ["name"]))
    assert [r["id_number"] for r in result.records] == [KEY]
    assert api.api_hits() == 3
    stats = c.stats()
    assert (stats.calls, stats.attempts, stats.retries, stats.failures) == (1, 3, 2, 0)


def test_retries_are_bounded(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=2)
    error = run(c, lambda: fails(c))
    assert error.reason == "unreachable"
    assert api.api_hits() == 3


@pytest.mark.parametrize("status", [500, 400, 401])
def test_a_non_transient_error_is_not_retried(api: RestServer, status: int) -> None:
    api.fault("status", status=status)
    c = resilient(api, retries=3)
    error = run(c, lambda: fails(c))
    assert error.reason == "error" and error.transient is False
    assert api.api_hits() == 1


def test_retries_stay_within_the_deadline(api: RestServer) -> None:
    api.fault("slow", delay=10)  # every attempt times out after 0.4 s
    c = resilient(api, timeout=0.4, deadline_seconds=1.0, retries=10)

    async def scenario() -> tuple[SourceUnavailable, float]:
        started = time.monotonic()
        error = await fails(c)
        return error, time.monotonic() - started

    error, elapsed = run(c, scenario)
    assert error.reason == "timeout"
    assert elapsed < 1.0 + 1.0
    assert 1 <= api.api_hits() <= 3  # 10 retries allowed, the deadline leaves room for ~2


def test_retry_after_is_honoured(api: RestServer) -> None:
    api.fault("status", status=429, retry_after="1", times=1)
    c = resilient(api, deadline_seconds=5.0, retries=2)

    async def scenario() -> float:
        started = time.monotonic()
        await c.lookup([KEY], ["name"])
        return time.monotonic() - started

    elapsed = run(c, scenario)
    assert api.api_hits() == 2
    assert 0.9 <= elapsed < 5.0  # waited the second the source asked for


def test_a_retry_after_beyond_the_deadline_fails_at_once(api: RestServer) -> None:
    api.fault("status", status=429, retry_after="30")
    c = resilient(api, deadline_seconds=2.0, retries=2)

    async def scenario() -> tuple[SourceUnavailable, float]:
        started = time.monotonic()
        error = await fails(c)
        return error, time.monotonic() - started

    error, elapsed = run(c, scenario)
    assert (error.reason, error.retry_after) == ("rate_limited", 30.0)
    assert elapsed < 2.0  # did not sleep into the deadline
    assert api.api_hits() == 1


# ---- circuit breaker -------------------------------------------------------------------


def test_the_breaker_opens_after_n_failures_and_spares_the_source(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=0, breaker_failures=3, breaker_cooldown_seconds=60)

    async def scenario() -> list[str]:
        return [(await fails(c)).reason for _ in range(5)]

    reasons = run(c, scenario)
    assert reasons == ["unreachable"] * 3 + ["circuit_open"] * 2
    assert api.api_hits() == 3  # the open breaker answered without touching the source
    stats = c.stats()
    assert (stats.state, stats.times_opened, stats.short_circuited) == ("open", 1, 2)


def test_the_breaker_counts_attempts_so_retries_trip_it_too(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=5, breaker_failures=2, breaker_cooldown_seconds=60)
    error = run(c, lambda: fails(c))
    assert error.reason == "circuit_open"  # the third attempt met the open breaker
    assert api.api_hits() == 2


def test_the_breaker_half_opens_and_recovers(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=0, breaker_failures=2, breaker_cooldown_seconds=1.0)

    async def scenario() -> list[str]:
        states = []
        for _ in range(2):
            await fails(c)
        states.append(c.stats().state)
        api.reset()  # the source is back
        assert (await fails(c)).reason == "circuit_open"
        await asyncio.sleep(1.2)
        states.append(c.stats().state)
        await c.lookup([KEY], ["name"])  # the probe
        states.append(c.stats().state)
        return states

    assert run(c, scenario) == ["open", "half_open", "closed"]
    assert api.api_hits() == 1  # only the probe reached the source while it was flagged


def test_a_failed_probe_opens_the_breaker_again(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=0, breaker_failures=2, breaker_cooldown_seconds=1.0)

    async def scenario() -> list[str]:
        for _ in range(2):
            await fails(c)
        await asyncio.sleep(1.2)
        probe = await fails(c)
        after = await fails(c)
        return [probe.reason, after.reason, c.stats().state]

    assert run(c, scenario) == ["unreachable", "circuit_open", "open"]
    assert api.api_hits() == 3


def test_half_open_lets_exactly_one_probe_through(api: RestServer) -> None:
    api.fault("status", status=503, times=2)
    c = resilient(api, retries=0, breaker_failures=2, breaker_cooldown_seconds=0.2)

    async def scenario() -> list[str]:
        for _ in range(2):
            await fails(c)
        await asyncio.sleep(0.3)
        api.fault("slow", delay=0.5)
        outcomes = await asyncio.gather(
            *(c.lookup([KEY], ["name"]) for _ in range(4)), return_exceptions=True
        )
        return sorted(o.reason if isinstance(o, SourceUnavailable) else "ok" for o in outcomes)

    assert run(c, scenario) == ["circuit_open", "circuit_open", "circuit_open", "ok"]
    assert api.api_hits() == 3


def test_an_open_breaker_makes_check_report_unhealthy_without_a_request(api: RestServer) -> None:
    api.fault("status", status=503)
    c = resilient(api, retries=0, breaker_failures=1, breaker_cooldown_seconds=60)

    async def scenario() -> Any:
        await fails(c)
        return await c.check()

    health = run(c, scenario)
    assert health.ok is False and health.detail.startswith("circuit_open")
    assert api.api_hits() == 1


def test_a_binding_mistake_is_not_a_source_failure(api: RestServer) -> None:
    c = resilient(api, breaker_failures=1)

    async def scenario() -> None:
        for _ in range(3):
            with pytest.raises(BindingInvalid):
                await c.lookup([KEY], ["no_such_item"])

    run(c, scenario)
    assert c.stats().state == "closed" and api.api_hits() == 0


def test_a_caller_cancelling_is_not_a_source_failure(api: RestServer) -> None:
    api.fault("slow", delay=5)
    c = resilient(api, breaker_failures=1, deadline_seconds=10)

    async def scenario() -> None:
        task = asyncio.create_task(c.lookup([KEY], ["name"]))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(c, scenario)
    assert c.stats().state == "closed" and c.stats().in_flight == 0


class BrokenAdapter(HttpConnector):
    """A department's adapter that lets its driver's error escape."""

    async def lookup(self, keys: Any, items: Any) -> Any:
        raise RuntimeError("driver failed: postgresql://reader:hunter2@db/x")


def test_an_escaped_driver_error_becomes_a_typed_unavailable(api: RestServer) -> None:
    inner = resilient(api).inner
    c = ResilientConnector(BrokenAdapter(inner.binding), ResiliencePolicy(breaker_failures=1))
    error = run(c, lambda: fails(c))
    assert (error.reason, error.transient) == ("error", False)
    assert "RuntimeError" in str(error) and "hunter2" not in str(error)
    assert c.state() == "open" and c.stats().failures == 1


# ---- concurrency limit -----------------------------------------------------------------


def test_a_full_connector_fails_fast(api: RestServer) -> None:
    api.fault("slow", delay=1.0)
    c = resilient(api, max_concurrency=2, max_waiting=1, deadline_seconds=5)

    async def one() -> tuple[str, float]:
        started = time.monotonic()
        try:
            await c.lookup([KEY], ["name"])
        except SourceUnavailable as exc:
            return exc.reason, time.monotonic() - started
        return "ok", time.monotonic() - started

    async def scenario() -> list[tuple[str, float]]:
        return list(await asyncio.gather(*(one() for _ in range(7))))

    outcomes = run(c, scenario)
    rejected = [elapsed for reason, elapsed in outcomes if reason == "overloaded"]
    assert sorted(reason for reason, _ in outcomes) == ["ok"] * 3 + ["overloaded"] * 4
    assert max(rejected) < 0.5  # at once, not after the slow calls
    assert api.api_hits() == 3  # two in flight, then the one that waited
    assert c.stats().overloaded == 4 and c.stats().in_flight == 0


def test_the_deadline_covers_waiting_for_a_slot(api: RestServer) -> None:
    api.fault("slow", delay=3)
    c = resilient(api, timeout=5, max_concurrency=1, max_waiting=1, deadline_seconds=0.5)

    async def scenario() -> list[str]:
        outcomes = await asyncio.gather(
            *(c.lookup([KEY], ["name"]) for _ in range(2)), return_exceptions=True
        )
        return [o.reason for o in outcomes if isinstance(o, SourceUnavailable)]

    started = time.monotonic()
    assert run(c, scenario) == ["timeout", "timeout"]
    assert time.monotonic() - started < 0.5 + 1.5


# ---- policy ----------------------------------------------------------------------------


def test_policy_defaults_and_per_binding_overrides() -> None:
    policy = ResiliencePolicy()
    assert (policy.deadline_seconds, policy.retries, policy.max_concurrency) == (3.0, 2, 8)
    assert (policy.breaker_failures, policy.breaker_cooldown_seconds) == (5, 30.0)
    with pytest.raises(ValueError, match="extra"):
        ResiliencePolicy.model_validate({"deadline": 1})
    with pytest.raises(ValueError):
        ResiliencePolicy(retries=-1)


def test_wrap_takes_a_bindings_resilience_dict(api: RestServer) -> None:
    inner = resilient(api).inner
    wrapped = wrap(inner, {"retries": 0, "max_concurrency": 3})
    assert (wrapped.policy.retries, wrapped.policy.max_concurrency) == (0, 3)
    assert wrap(inner).policy == ResiliencePolicy()
