"""Deadline, retries, circuit breaker and a fail-fast concurrency limit around any connector.

The pool wraps every adapter in ``ResilientConnector`` so that no adapter has to get these
right on its own. Order of the guards for one call::

    concurrency limit of the binding, then the one its provider department's bindings share
    (full → "overloaded" at once, with a Retry-After hint)
      └ deadline (asyncio.timeout: covers waiting for a slot, every attempt and every backoff)
          └ retries (tenacity: transient SourceUnavailable only, jittered exponential backoff,
            Retry-After honoured, never sleeping past the deadline)
              └ circuit breaker, per attempt (open → "circuit_open" without touching the source)
                  └ the adapter

An optional ``ResilienceObserver`` (the hub's metrics) is told how long each call took and
how it ended, and every change of the breaker's state.

Retries: tenacity (maintained, asyncio-native) rather than stamina: stamina wraps tenacity
but its ``timeout`` stops only *after* a sleep has overrun it, whereas here the wait is known
before the stop decision (tenacity computes ``upcoming_sleep`` first), so a backoff that would
cross the deadline is never started and the caller gets the real error, not a timeout.

The breaker and the limit are hand-written (about 100 lines) because no maintained library
does them well for asyncio: aiobreaker's last release is from 2021; pybreaker's async support
is Tornado-only; circuitbreaker lets every concurrent call through in half-open, counts a
cancelled call as a success and registers each breaker in a process-global monitor;
purgatory keeps its in-memory state behind a message bus, uses the wall clock and also lets
every half-open call through. Here half-open admits exactly one probe, and the clock is
monotonic and injectable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import tenacity
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    BindingInvalid,
    Connector,
    ConnectorConfig,
    ConnectorError,
    Health,
    LookupResult,
    SourceColumn,
    SourceUnavailable,
)

T = TypeVar("T")
log = logging.getLogger("datarun.connectors.resilience")
BreakerState = Literal["closed", "open", "half_open"]

# A retry is started only if this share of the deadline is still left after the backoff:
# an attempt with almost no time left would only turn the real error into a timeout.
_MIN_ATTEMPT_SHARE = 0.1
_NOT_RETRIED = frozenset({"circuit_open", "overloaded"})
# What a caller refused for overload is told to wait before trying again (Retry-After).
OVERLOADED_RETRY_AFTER = 1.0


class ResiliencePolicy(BaseModel):
    """How hard the hub tries one connector; overridable per binding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_seconds: float = Field(default=3.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_initial_seconds: float = Field(default=0.1, ge=0, le=30)
    backoff_max_seconds: float = Field(default=1.0, ge=0, le=60)
    backoff_jitter_seconds: float = Field(default=0.1, ge=0, le=10)
    breaker_failures: int = Field(default=5, ge=1, le=10_000)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_concurrency: int = Field(default=8, ge=1, le=10_000)
    max_waiting: int = Field(default=2, ge=0, le=10_000)


@dataclass
class _Permit:
    probe: bool


class CircuitBreaker:
    """Opens after N consecutive failures, lets one probe through after a cool-down."""

    def __init__(
        self,
        *,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState, bool], None] | None = None,
    ) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._open = False
        self._opened_at = 0.0
        self._probing = False
        self.consecutive_failures = 0
        self.times_opened = 0
        self.short_circuited = 0
        # Told (state, just_opened) whenever the state it last reported changed (metrics).
        self.on_change = on_change
        self._reported: BreakerState = "closed"

    def state(self) -> BreakerState:
        """Return "closed", "open" or "half_open" (cool-down over, a probe may go)."""
        if not self._open:
            return "closed"
        return "half_open" if self.cooldown_left() == 0 else "open"

    def cooldown_left(self) -> float:
        """Return the seconds until the breaker lets a probe through (0 when not open)."""
        if not self._open:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def acquire(self) -> _Permit | None:
        """Return a permit to call the source, or None to short-circuit."""
        state = self.state()
        if state == "closed":
            return _Permit(probe=False)
        if state == "half_open" and not self._probing:
            self._probing = True
            self.report()
            return _Permit(probe=True)
        self.short_circuited += 1
        return None

    def succeeded(self, permit: _Permit) -> None:
        """Record a call that reached the source and got an answer."""
        if permit.probe or not self._open:
            # A call started before the breaker opened must not close it: only a probe can.
            self._open = self._probing = False
            self.consecutive_failures = 0
            self.report()

    def failed(self, permit: _Permit) -> None:
        """Record a failed call; open (again) at the threshold or when the probe fails."""
        self.consecutive_failures += 1
        if permit.probe or (not self._open and self.consecutive_failures >= self.threshold):
            self._open, self._probing = True, False
            self._opened_at = self._clock()
            self.times_opened += 1
            self.report(opened=True)

    def released(self, permit: _Permit) -> None:
        """Forget a call that neither succeeded nor failed (cancelled by its caller)."""
        if permit.probe:
            self._probing = False
            self.report()

    def report(self, *, opened: bool = False) -> None:
        """Tell ``on_change`` the state if it changed (or it just opened); cheap otherwise."""
        if self.on_change is None:
            return
        state = self.state()
        if state != self._reported or opened:
            self._reported = state
            self.on_change(state, opened)


class ConcurrencyLimit:
    """At most ``limit`` calls in flight and ``waiting`` queued; beyond that, fail fast."""

    def __init__(self, *, limit: int, waiting: int) -> None:
        self.limit = limit
        self.waiting = waiting
        self._semaphore = asyncio.Semaphore(limit)
        self._admitted = 0
        self.in_flight = 0
        self.rejected = 0

    def slot(self, label: str) -> _Slot:
        """Hold one slot for the block, or raise ``SourceUnavailable("overloaded")`` at once."""
        return _Slot(self, label)


class _Slot:
    """One call's place under a ``ConcurrencyLimit`` (a plain class: it is on every lookup)."""

    __slots__ = ("_label", "_limit")

    def __init__(self, limit: ConcurrencyLimit, label: str) -> None:
        self._limit = limit
        self._label = label

    async def __aenter__(self) -> None:
        limit = self._limit
        if limit._admitted >= limit.limit + limit.waiting:
            limit.rejected += 1
            raise SourceUnavailable(
                "overloaded",
                f"{self._label}: {limit.limit} calls already in flight and {limit.waiting} waiting",
                retry_after=OVERLOADED_RETRY_AFTER,
            )
        limit._admitted += 1
        try:
            await limit._semaphore.acquire()
        except BaseException:
            limit._admitted -= 1
            raise
        limit.in_flight += 1

    async def __aexit__(self, *exc_info: object) -> None:
        limit = self._limit
        limit.in_flight -= 1
        limit._semaphore.release()
        limit._admitted -= 1


@dataclass(frozen=True)
class ResilienceStats:
    """Counters and breaker state of one wrapped connector, for metrics."""

    state: BreakerState
    consecutive_failures: int
    times_opened: int
    short_circuited: int
    overloaded: int
    in_flight: int
    calls: int
    failures: int
    attempts: int
    retries: int
    timeouts: int


class ResilienceObserver(Protocol):
    """What the hub learns from the resilience layer (its metrics); every call must be cheap."""

    def call_finished(
        self, connector: ResilientConnector, operation: str, outcome: str, seconds: float
    ) -> None:
        """One guarded call ended: ``outcome`` is "ok" or the ``SourceUnavailable`` reason."""

    def breaker_changed(
        self, connector: ResilientConnector, state: BreakerState, opened: bool
    ) -> None:
        """The connector's breaker is now in ``state`` (``opened``: it has just opened)."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, SourceUnavailable) and exc.transient and exc.reason not in _NOT_RETRIED


class ResilientConnector(Connector):
    """Any connector, with a deadline, retries, a circuit breaker and a concurrency limit."""

    name: ClassVar[str] = "resilient"
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig

    def __init__(
        self,
        inner: Connector,
        policy: ResiliencePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        provider: str | None = None,
        provider_limit: ConcurrencyLimit | None = None,
        observer: ResilienceObserver | None = None,
    ) -> None:
        super().__init__(inner.binding, max_rows=inner.max_rows)
        self.inner = inner
        self.policy = policy or ResiliencePolicy()
        # The provider department, and the limit its connectors share (several bindings of
        # one department reach the same systems): both optional, set by the hub's pool.
        self.provider = provider
        self.provider_limit = provider_limit
        self.observer = observer
        self.breaker = CircuitBreaker(
            failures=self.policy.breaker_failures,
            cooldown=self.policy.breaker_cooldown_seconds,
            clock=clock,
            on_change=self._breaker_changed if observer is not None else None,
        )
        self.limit = ConcurrencyLimit(
            limit=self.policy.max_concurrency, waiting=self.policy.max_waiting
        )
        self._label = f"{inner.name} source of {inner.binding.resource_code}"
        self._backoff = tenacity.wait_exponential(
            multiplier=self.policy.backoff_initial_seconds, max=self.policy.backoff_max_seconds
        ) + tenacity.wait_random(0, self.policy.backoff_jitter_seconds)
        self.calls = self.failures = self.attempts = self.retries = self.timeouts = 0

    async def lookup(self, keys: Sequence[str], items: Sequence[str]) -> LookupResult:
        """Look up through the guards."""
        return await self._observed("lookup", lambda: self.inner.lookup(keys, items))

    async def describe(self) -> list[SourceColumn]:
        """Describe through the guards."""
        return await self._observed("describe", self.inner.describe)

    async def check(self) -> Health:
        """Check through the guards; an unavailable source is reported, not raised."""
        started = time.perf_counter()
        try:
            return await self._observed("check", self.inner.check)
        except SourceUnavailable as exc:
            elapsed_ms = (time.perf_counter() - started) * 1000
            return Health(ok=False, latency_ms=elapsed_ms, detail=f"{exc.reason}: {exc}")

    async def close(self) -> None:
        """Close the wrapped connector."""
        await self.inner.close()

    def state(self) -> BreakerState:
        """Return the circuit breaker's state."""
        return self.breaker.state()

    def stats(self) -> ResilienceStats:
        """Return the breaker state and counters."""
        return ResilienceStats(
            state=self.breaker.state(),
            consecutive_failures=self.breaker.consecutive_failures,
            times_opened=self.breaker.times_opened,
            short_circuited=self.breaker.short_circuited,
            overloaded=self.limit.rejected,
            in_flight=self.limit.in_flight,
            calls=self.calls,
            failures=self.failures,
            attempts=self.attempts,
            retries=self.retries,
            timeouts=self.timeouts,
        )

    def report_state(self) -> None:
        """Tell the observer the breaker's state now (an open breaker's cool-down may be over)."""
        self.breaker.report()

    def _breaker_changed(self, state: BreakerState, opened: bool) -> None:
        if self.observer is not None:
            self.observer.breaker_changed(self, state, opened)

    async def _observed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        if self.observer is None:
            return await self._run(call)
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._run(call)
        except SourceUnavailable as exc:
            outcome = exc.reason
            raise
        except ConnectorError:
            outcome = "binding_invalid"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            self.observer.call_finished(self, operation, outcome, time.perf_counter() - started)

    def _provider_slot(self) -> AbstractAsyncContextManager[None]:
        if self.provider_limit is None:
            return nullcontext()
        return self.provider_limit.slot(f"provider {self.provider}")

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        self.calls += 1
        deadline_s = self.policy.deadline_seconds
        try:
            async with asyncio.timeout(deadline_s) as deadline:
                async with self.limit.slot(self._label), self._provider_slot():
                    # The first attempt is made directly: most calls succeed at once, and
                    # building tenacity's machinery costs more than the lookup it guards.
                    try:
                        return await self._attempt(call, deadline)
                    except Exception as exc:
                        if self.policy.retries < 1 or not _retryable(exc):
                            raise
                        failed: list[Exception] = [exc]
                    # Tenacity decides from that failure (its attempt 1), then retries.
                    retrying = tenacity.AsyncRetrying(
                        retry=tenacity.retry_if_exception(_retryable),
                        wait=self._wait,
                        stop=self._stop(deadline),
                        before_sleep=self._count_retry,
                        reraise=True,
                    )
                    return await retrying(self._again, failed, call, deadline)
        except TimeoutError:
            self.timeouts += 1
            self.failures += 1
            raise SourceUnavailable(
                "timeout", f"{self._label}: no answer within the {deadline_s:g} s deadline"
            ) from None
        except SourceUnavailable:
            self.failures += 1
            raise

    def _count_retry(self, state: tenacity.RetryCallState) -> None:
        self.retries += 1

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, SourceUnavailable) and exc.retry_after is not None:
            return max(0.0, exc.retry_after)
        return float(self._backoff(state))

    def _stop(self, deadline: asyncio.Timeout) -> Callable[[tenacity.RetryCallState], bool]:
        loop = asyncio.get_running_loop()
        when = deadline.when() or loop.time()
        floor = self.policy.deadline_seconds * _MIN_ATTEMPT_SHARE
        max_attempts = self.policy.retries + 1

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= max_attempts:
                return True
            return loop.time() + state.upcoming_sleep > when - floor

        return stop

    async def _again(
        self,
        failed: list[Exception],
        call: Callable[[], Awaitable[T]],
        deadline: asyncio.Timeout,
    ) -> T:
        """Attempt 1 of the retry loop replays the direct attempt's failure; then attempt."""
        if failed:
            raise failed.pop()
        return await self._attempt(call, deadline)

    async def _attempt(self, call: Callable[[], Awaitable[T]], deadline: asyncio.Timeout) -> T:
        permit = self.breaker.acquire()
        if permit is None:
            left = self.breaker.cooldown_left()
            raise SourceUnavailable(
                "circuit_open",
                f"{self._label}: circuit open after {self.breaker.threshold} consecutive "
                f"failures; next try in {left:.1f} s",
                retry_after=left,
            )
        self.attempts += 1
        try:
            result = await call()
        except BindingInvalid:
            self.breaker.released(permit)  # our mistake, not the source's
            raise
        except SourceUnavailable:
            self.breaker.failed(permit)
            raise
        except ConnectorError:
            self.breaker.released(permit)
            raise
        except Exception as exc:
            # An adapter (maybe a department's own package) let a driver error escape: the
            # caller still gets a typed "unavailable", never a 500. Only the type is logged,
            # as a driver's message may quote a connection string.
            self.breaker.failed(permit)
            log.error("%s: the adapter raised %s", self._label, type(exc).__name__)
            raise SourceUnavailable(
                "error",
                f"{self._label}: the adapter failed ({type(exc).__name__})",
                transient=False,
            ) from None
        except asyncio.CancelledError:
            # Cut by our own deadline: the source was too slow, a failure. Cancelled by the
            # caller: says nothing about the source.
            if deadline.expired():
                self.breaker.failed(permit)
            else:
                self.breaker.released(permit)
            raise
        self.breaker.succeeded(permit)
        return result


def wrap(
    inner: Connector,
    policy: ResiliencePolicy | dict[str, Any] | None = None,
    *,
    provider: str | None = None,
    provider_limit: ConcurrencyLimit | None = None,
    observer: ResilienceObserver | None = None,
) -> ResilientConnector:
    """Wrap ``inner`` with a policy (a model, a binding's ``resilience`` dict, or defaults)."""
    if isinstance(policy, dict):
        policy = ResiliencePolicy.model_validate(policy)
    return ResilientConnector(
        inner, policy, provider=provider, provider_limit=provider_limit, observer=observer
    )
