"""The circuit breaker's state machine on a fake clock (no sleeping, no source)."""

from __future__ import annotations

from typing import Any

from connectors.resilience import CircuitBreaker


def permit(breaker: CircuitBreaker) -> Any:
    granted = breaker.acquire()
    assert granted is not None, "short-circuited"
    return granted


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failures=3, cooldown=30, clock=Clock())
    for _ in range(2):
        breaker.failed(permit(breaker))
    breaker.succeeded(permit(breaker))  # a success resets the run
    for _ in range(2):
        breaker.failed(permit(breaker))
    assert breaker.state() == "closed"
    breaker.failed(permit(breaker))
    assert breaker.state() == "open" and breaker.acquire() is None
    assert breaker.short_circuited == 1 and breaker.times_opened == 1


def test_half_open_admits_one_probe_and_closes_on_its_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=clock)
    breaker.failed(permit(breaker))
    clock.now += 29.9
    assert breaker.state() == "open" and 0 < breaker.cooldown_left() <= 0.1 + 1e-9
    clock.now += 0.2
    assert breaker.state() == "half_open"
    probe = breaker.acquire()
    assert probe is not None and probe.probe
    assert breaker.acquire() is None  # a second caller is short-circuited meanwhile
    breaker.succeeded(probe)
    assert breaker.state() == "closed" and breaker.consecutive_failures == 0


def test_a_failed_probe_restarts_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=clock)
    breaker.failed(permit(breaker))
    clock.now += 31
    breaker.failed(permit(breaker))
    assert breaker.state() == "open" and breaker.cooldown_left() == 30
    assert breaker.times_opened == 2


def test_a_released_probe_lets_the_next_caller_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown=1, clock=clock)
    breaker.failed(permit(breaker))
    clock.now += 2
    probe = breaker.acquire()
    assert probe is not None
    breaker.released(probe)  # cancelled by its caller: says nothing about the source
    assert breaker.state() == "half_open" and breaker.acquire() is not None


def test_a_late_success_from_before_the_opening_does_not_close_it() -> None:
    breaker = CircuitBreaker(failures=2, cooldown=30, clock=Clock())
    slow = permit(breaker)
    for _ in range(2):
        breaker.failed(permit(breaker))
    breaker.succeeded(slow)
    assert breaker.state() == "open"
