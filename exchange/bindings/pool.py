"""The hub's live connectors: one per enabled binding, built lazily, rebuilt when it changes.

The record-pull path asks ``await pool.get(resource_code)`` and calls ``lookup`` on what it
gets: the adapter wrapped in the resilience layer (deadline, retries, circuit breaker,
concurrency limit), so the breaker's memory lasts as long as the binding does. The
connectors of one provider department also share one concurrency limit
(``provider_max_concurrency`` in flight, ``provider_max_waiting`` queued, then 503 at once),
so a department with several bindings is never sent more than that many calls at a time
by this process; and they report their latencies and breaker states to the hub's metrics.

A cached connector is trusted for ``refresh_seconds``; after that the next ``get`` re-reads
the binding (off the loop) and rebuilds the connector if its fingerprint changed, so an edit
made through another hub process is picked up within that time. An edit made here takes
effect at once (``invalidate``). A replaced connector is closed after a grace period, so
lookups already running on it finish.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from connectors.base import Connector
from connectors.resilience import ConcurrencyLimit, ResilienceObserver, wrap
from exchange.bindings import repository
from exchange.bindings.errors import NotBound
from exchange.bindings.models import ConnectorBinding
from exchange.bindings.validation import connector_binding
from exchange.core.settings import Settings
from exchange.observability.connectors import connector_metrics

log = logging.getLogger("datarun.bindings.pool")


@dataclass
class _Entry:
    connector: Connector
    fingerprint: str
    checked_at: float


def fingerprint(row: ConnectorBinding) -> str:
    """Return a digest of everything in a binding that shapes its connector."""
    shape = [
        row.adapter,
        row.config,
        row.secrets_encrypted,
        row.key_item,
        row.columns,
        row.resilience,
    ]
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


class ConnectorPool:
    """Live connectors by resource code; see the module docstring."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        refresh_seconds: float = 5.0,
        grace_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        observer: ResilienceObserver | None = connector_metrics,
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._refresh = refresh_seconds
        self._grace = grace_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._retired: set[Connector] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._observer = observer
        self._provider_limits: dict[str, ConcurrencyLimit] = {}
        self._flights: dict[str, asyncio.Task[Connector]] = {}

    async def get(self, resource_code: str) -> Connector:
        """Return the live connector of the resource; raise ``NotBound`` if none is enabled."""
        entry = self._entries.get(resource_code)
        if entry is not None and self._clock() - entry.checked_at < self._refresh:
            return entry.connector
        # One read of the binding at a time: the pulls arriving meanwhile wait for it
        # rather than each reading (and decrypting) the same row.
        loop = asyncio.get_running_loop()
        flight = self._flights.get(resource_code)
        if flight is None or flight.get_loop() is not loop:
            flight = loop.create_task(self._reload(resource_code))
            self._flights[resource_code] = flight
            flight.add_done_callback(functools.partial(self._landed, resource_code))
        return await asyncio.shield(flight)

    def _landed(self, resource_code: str, flight: asyncio.Task[Connector]) -> None:
        if self._flights.get(resource_code) is flight:
            del self._flights[resource_code]
        if not flight.cancelled():
            flight.exception()  # each waiter got it; nobody else must see it as lost

    async def _reload(self, resource_code: str) -> Connector:
        loaded = await asyncio.to_thread(self._load, resource_code)
        if loaded is None:
            self._retire(self._pop(resource_code))
            raise NotBound(f"no enabled connector binding for resource {resource_code}")
        digest, build = loaded
        with self._lock:
            entry = self._entries.get(resource_code)
            if entry is not None and entry.fingerprint == digest:
                entry.checked_at = self._clock()
                return entry.connector
        connector = build()
        loser: Connector | None
        with self._lock:
            current = self._entries.get(resource_code)
            if current is not None and current.fingerprint == digest:
                loser, winner = connector, current.connector  # a concurrent get built it first
            else:
                self._entries[resource_code] = _Entry(connector, digest, self._clock())
                loser, winner = (current.connector if current else None), connector
        self._retire(loser)
        return winner

    def invalidate(self, resource_code: str) -> None:
        """Make the next ``get`` re-read the binding (it changed in this process)."""
        self._flights.pop(resource_code, None)  # a read begun before the edit does not count
        with self._lock:
            entry = self._entries.get(resource_code)
            if entry is not None:
                entry.checked_at = float("-inf")

    def provider_limit(self, provider: str) -> ConcurrencyLimit:
        """Return the concurrency limit the connectors of ``provider`` share (made on first use)."""
        with self._lock:
            limit = self._provider_limits.get(provider)
            if limit is None:
                limit = self._provider_limits[provider] = ConcurrencyLimit(
                    limit=self._settings.provider_max_concurrency,
                    waiting=self._settings.provider_max_waiting,
                )
            return limit

    def cached(self) -> dict[str, Connector]:
        """Return the connectors built so far, by resource code (for metrics and tests)."""
        with self._lock:
            return {code: e.connector for code, e in self._entries.items()}

    async def close(self) -> None:
        """Close every connector, live or retired (app shutdown)."""
        with self._lock:
            connectors = [e.connector for e in self._entries.values()] + list(self._retired)
            self._entries.clear()
            self._retired.clear()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for task in list(self._tasks):
            if task.get_loop() is loop:
                task.cancel()  # the others found their connector closed and just sleep out
        for connector in connectors:
            await _close_quietly(connector)

    # ---- helpers -------------------------------------------------------------------------

    def _load(self, resource_code: str) -> tuple[str, Callable[[], Connector]] | None:
        with self._factory() as session:
            row = repository.by_code(session, resource_code)
            if row is None or not row.enabled:
                return None
            binding = connector_binding(row, self._settings)
            policy: dict[str, Any] | None = dict(row.resilience) or None
            max_rows = self._settings.connector_max_rows
            provider = row.resource.provider.code

            def build() -> Connector:
                return wrap(
                    registry.build(binding, max_rows=max_rows),
                    policy,
                    provider=provider,
                    provider_limit=self.provider_limit(provider),
                    observer=self._observer,
                )

            return fingerprint(row), build

    def _pop(self, resource_code: str) -> Connector | None:
        with self._lock:
            entry = self._entries.pop(resource_code, None)
        return entry.connector if entry else None

    def _retire(self, connector: Connector | None) -> None:
        if connector is None:
            return
        with self._lock:
            self._retired.add(connector)

        async def close_later() -> None:
            await asyncio.sleep(self._grace)
            with self._lock:
                if connector not in self._retired:
                    return  # pool.close() took it
                self._retired.discard(connector)
            await _close_quietly(connector)

        task = asyncio.get_running_loop().create_task(close_later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _close_quietly(connector: Connector) -> None:
    try:
        await connector.close()
    except Exception:
        log.exception("closing the connector of %s failed", connector.binding.resource_code)
