"""What adapters over blocking drivers share: a private thread pool, deadlines, exact keys.

Extension point. A subclass implements, all run in the pool's threads:

- ``_fetch(columns, keys)``: one query for ``keys`` reading only ``columns`` (the key column
  first), at most ``max_rows + 1`` rows, each a mapping column → value;
- ``_probe()``: the cheapest read proving the source answers;
- ``_columns()``: the source's columns, for ``describe()``;
- ``_classify(exc, keys)``: turn a driver error into ``SourceUnavailable`` (no secrets, no
  key values in the message);

and may override ``_abandon(holder)``, called on the loop when a query outlives its deadline
or its caller, to stop it at the source (``holder`` is what the query's thread put there).

Key matches are exact: rows that a case- or pad-insensitive collation adds are dropped, and
keys holding NUL are never sent (no identifier holds one; PostgreSQL cannot compare it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from connectors.adapters.workers import Workers
from connectors.base import (
    Binding,
    BindingInvalid,
    Connector,
    Health,
    LookupResult,
    Record,
    SourceColumn,
    SourceUnavailable,
)

log = logging.getLogger("datarun.connectors")
T = TypeVar("T")

MAX_KEYS = 1000  # per lookup: one IN list of bound parameters every backend accepts
Row = Mapping[str, Any]


class ThreadedConnector(Connector):
    """A connector whose driver blocks; see the module docstring."""

    def __init__(
        self, binding: Binding, *, max_rows: int, workers: int, timeout_seconds: float
    ) -> None:
        super().__init__(binding, max_rows=max_rows)
        self.timeout_seconds = timeout_seconds
        self.label = f"{self.name} source of {binding.resource_code}"
        self._local = threading.local()  # the running call's deadline and holder
        self._workers = Workers(workers, f"datarun-{self.name}")

    # ---- the interface -------------------------------------------------------------------

    async def lookup(self, keys: Sequence[str], items: Sequence[str]) -> LookupResult:
        """Return the records whose key is in ``keys``, reading only the requested columns."""
        wanted = self.projection(items)
        asked = list(dict.fromkeys(keys))
        if len(asked) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS} keys per lookup, got {len(asked)}")
        sendable = [k for k in asked if "\x00" not in k]
        if not sendable:
            return LookupResult(records=[], missing=asked)
        columns = tuple(dict.fromkeys(wanted.values()))
        rows = await self._call(self._fetch, columns, sendable, keys=sendable)
        key_item = self.binding.key_item
        key_column = wanted[key_item]
        order = {k: i for i, k in enumerate(asked)}
        records: list[Record] = [
            {item: row[column] for item, column in wanted.items()}
            for row in rows[: self.max_rows]
            if row[key_column] is not None and str(row[key_column]) in order
        ]
        records.sort(key=lambda r: order[str(r[key_item])])
        found = {str(r[key_item]) for r in records}
        return LookupResult(
            records=records,
            missing=[k for k in asked if k not in found],
            truncated=len(rows) > self.max_rows,
        )

    async def check(self) -> Health:
        """Read one key from the source; report ok, or why not, with the latency."""
        started = time.perf_counter()
        try:
            await self._call(self._probe)
        except (SourceUnavailable, BindingInvalid) as exc:
            reason = getattr(exc, "reason", "error")
            return Health(ok=False, latency_ms=_ms(started), detail=f"{reason}: {exc}")
        return Health(ok=True, latency_ms=_ms(started), detail="ok")

    async def describe(self) -> list[SourceColumn]:
        """List the source's columns with their types."""
        return await self._call(self._columns)

    # ---- for subclasses ------------------------------------------------------------------

    @abstractmethod
    def _fetch(self, columns: tuple[str, ...], keys: list[str]) -> Sequence[Row]:
        """Run the one query of a lookup (in a pool thread)."""

    @abstractmethod
    def _probe(self) -> None:
        """Read the least that proves the source answers (in a pool thread)."""

    @abstractmethod
    def _columns(self) -> list[SourceColumn]:
        """List the source's columns (in a pool thread)."""

    @abstractmethod
    def _classify(self, exc: Exception, keys: Sequence[str]) -> SourceUnavailable:
        """Turn a driver error into a ``SourceUnavailable``."""

    def _abandon(self, holder: dict[str, Any]) -> None:
        """Stop a query nobody waits for any more (on the loop; default: let it run out)."""

    def _holder(self) -> dict[str, Any]:
        """Return the running call's holder, shared with ``_abandon``."""
        holder: dict[str, Any] = self._local.holder
        return holder

    def _deadline(self) -> float | None:
        """Return the running call's monotonic deadline (None outside a call)."""
        return getattr(self._local, "deadline", None)

    def _shutdown(self, *, wait: bool) -> None:
        self._workers.shutdown(wait=wait)

    # ---- plumbing ------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any, keys: Sequence[str] = ()) -> T:
        loop = asyncio.get_running_loop()
        holder: dict[str, Any] = {}
        future: asyncio.Future[T] = loop.create_future()
        self._workers.submit(loop, future, self._guarded, holder, fn, args, keys)
        timer = loop.call_later(self.timeout_seconds, _expire, future)
        try:
            return await future
        except (_Expired, asyncio.CancelledError) as exc:
            self._abandon(holder)  # our deadline or the caller's: stop it at the source
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise SourceUnavailable(
                "timeout", f"{self.label}: no answer within {self.timeout_seconds:g} s"
            ) from None
        finally:
            timer.cancel()

    def _guarded(
        self, holder: dict[str, Any], fn: Callable[..., T], args: tuple[Any, ...], keys: Any
    ) -> T:
        self._local.holder = holder
        self._local.deadline = time.monotonic() + self.timeout_seconds
        try:
            return fn(*args)
        except (SourceUnavailable, BindingInvalid):
            raise
        except Exception as exc:
            error = self._classify(exc, keys)
            log.warning("%s: %s", error.reason, error)
            raise error from None
        finally:
            self._local.deadline = None


class _Expired(Exception):
    """The connector's own deadline passed before the worker answered."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_Expired())


def scrub(text: str, keys: Sequence[str], secrets: Sequence[str] = ()) -> str:
    """Return the first line of a driver message without secrets or looked-up keys."""
    line = (text.strip().splitlines() or [""])[0][:300]
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    for key in keys:
        if len(key) >= 4 and key in line:
            line = line.replace(key, "<key>")  # personal data stays out of logs
    return line


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
