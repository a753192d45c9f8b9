"""The access log with metrics: decisions by outcome, append latency, failed appends.

``app.state.audit`` is wrapped, not changed: ``MeteredAuditLog`` times each append and,
once it has committed, counts its entries by decision; every other attribute is the
wrapped log's own, and ``isinstance(app.state.audit, AuditLog)`` still holds (the proxy
reports the wrapped object's class, as ``unittest.mock`` does), so code and tests that
know only ``AuditLog`` see no difference.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from exchange.audit.records import AppendedEntry, AuditRecord
from exchange.observability import metrics


def _count(records: Sequence[AuditRecord]) -> None:
    if len(records) == 1:  # most appends: one pull, one entry
        metrics.child(metrics.DECISIONS, records[0].decision).inc()
        return
    for decision, n in Counter(r.decision for r in records).items():
        metrics.child(metrics.DECISIONS, decision).inc(n)


class MeteredAuditLog:
    """A proxy of the hub's ``AuditLog`` that meters the four append methods."""

    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "_inner", inner)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() consults __class__: the wrapped log's
        return type(self._inner)

    @property
    def inner(self) -> Any:
        """The wrapped access log."""
        return self._inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def append(self, record: AuditRecord) -> AppendedEntry:
        """Commit one entry (metered)."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[AppendedEntry]:
        """Commit several entries together (metered)."""
        batch = list(records)
        started = time.perf_counter()
        try:
            appended: list[AppendedEntry] = self._inner.append_many(batch)
        except Exception:
            metrics.AUDIT_APPEND_FAILURES.inc()
            raise
        finally:
            metrics.AUDIT_APPEND.observe(time.perf_counter() - started)
        _count(batch)
        return appended

    async def aappend(self, record: AuditRecord) -> AppendedEntry:
        """Commit one entry from async code (metered)."""
        return (await self.aappend_many([record]))[0]

    async def aappend_many(self, records: Sequence[AuditRecord]) -> list[AppendedEntry]:
        """Commit several entries together from async code (metered)."""
        batch = list(records)
        started = time.perf_counter()
        try:
            appended: list[AppendedEntry] = await self._inner.aappend_many(batch)
        except Exception:
            metrics.AUDIT_APPEND_FAILURES.inc()
            raise
        finally:
            metrics.AUDIT_APPEND.observe(time.perf_counter() - started)
        _count(batch)
        return appended


def metered(audit: Any) -> Any:
    """Return ``audit`` wrapped by ``MeteredAuditLog`` (once: ``type`` sees through the proxy)."""
    return audit if type(audit) is MeteredAuditLog else MeteredAuditLog(audit)
