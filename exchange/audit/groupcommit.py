"""Group commit for the access log: one appender thread, one transaction for many appends.

Callers (threads or coroutines) queue their records and wait. The appender thread takes
all that is queued (up to ``audit_batch_max`` records), writes it in one transaction on a
connection it keeps, and wakes each caller with its entries or the error; a caller that
gave up before its turn is never written. One that gave up while its records were being
written answered 503 with no data, so a ``denied`` entry per record (outcome 503, "answer
withheld", naming the committed entry) follows them. Idle, it checkpoints an uncovered tail
and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine

from exchange.audit.errors import AuditUnavailable
from exchange.audit.records import AppendedEntry, AuditRecord

log = logging.getLogger("datarun.audit")

T = TypeVar("T")


class _Log(Protocol):
    """The access log (``AuditLog``) as its appender thread sees it."""

    _committer: GroupCommit
    _period: timedelta
    _tail: bool  # entries written that no checkpoint covers yet

    def _write(
        self, records: list[AuditRecord], *, kept: KeptConnection | None = None
    ) -> list[AppendedEntry]: ...

    def _checkpoint_tail(self) -> None: ...


@dataclass
class Pending:
    """One caller's queued records and how to wake that caller."""

    records: list[AuditRecord]
    # A thread's caller waits on ``future``; an async caller on ``waiter``, settled on its
    # loop (one wake-up per loop and commit), and sets ``abandoned`` if it stops waiting.
    future: Future[list[AppendedEntry]] | None = None
    waiter: asyncio.Future[list[AppendedEntry]] | None = None
    abandoned: bool = False
    # Set by the appender (under ``GroupCommit._handoff``) once the records are committed.
    delivered: list[AppendedEntry] | None = None

    def claim(self) -> bool:
        """Whether the appender may write this (False: its caller gave up before)."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return not self.abandoned


class KeptConnection:
    """The appender thread's own connection, kept from one commit to the next.

    Checking a connection out of the pool, pinging it and checking it back in cost about a
    third of the appender's time.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction; if it fails before the commit, once on a new one.

        A kept connection the database dropped meanwhile (a restart, an idle timeout) fails
        on its first statement: nothing was written, so the work is tried again on a fresh
        connection. A failure at the commit itself is never retried (it may have happened).
        """
        while True:
            reused = self._conn is not None and not (self._conn.closed or self._conn.invalidated)
            if not reused:
                self._conn = self._engine.connect()
            conn = self._conn
            assert conn is not None
            committing = False
            try:
                transaction = conn.begin()
                result = work(conn)
                committing = True
                transaction.commit()
                return result
            except Exception as exc:
                self.drop()
                if committing or not reused or isinstance(exc, AuditUnavailable):
                    raise

    def drop(self) -> None:
        """Close the kept connection (a failed one is invalidated: never reused)."""
        kept, self._conn = self._conn, None
        if kept is not None:
            with contextlib.suppress(Exception):
                kept.invalidate()
            with contextlib.suppress(Exception):
                kept.close()


class GroupCommit:
    """One log's queue of pending appends and the appender thread that commits them."""

    def __init__(self, owner: _Log, engine: Engine, *, timeout: float, batch_max: int) -> None:
        # Weakly: the appender thread holds its log only weakly too (see ``_appender``).
        self._owner = weakref.ref(owner)
        self._timeout = timeout
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._kept = KeptConnection(engine)
        # Between an async caller giving up and the appender committing its records: exactly
        # one of them sees the other and writes the "answer withheld" entries (``_withhold``).
        self._handoff = threading.Lock()

    def append(self, records: list[AuditRecord]) -> list[AppendedEntry]:
        """Queue ``records`` and wait (in a thread) for the commit that holds them."""
        pending = self._submit(records, future=Future())
        assert pending.future is not None
        try:
            return pending.future.result(timeout=self._timeout)
        except FutureTimeout:
            if not pending.future.cancel():  # not written if still queued; else it may be
                pending.future.add_done_callback(functools.partial(self._withhold_if, pending))
            raise AuditUnavailable(
                f"the access log did not commit within {self._timeout:g} s"
            ) from None

    async def aappend(self, records: list[AuditRecord]) -> list[AppendedEntry]:
        """Queue ``records`` and await (on the event loop) the commit that holds them."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        pending = self._submit(records, waiter)
        timer = loop.call_later(self._timeout, _expire, waiter)  # lighter than a Timeout
        try:
            return await waiter
        except _Expired:
            self._abandon(pending)
            raise AuditUnavailable(
                f"the access log did not commit within {self._timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            self._abandon(pending)
            raise
        finally:
            timer.cancel()

    def _abandon(self, pending: Pending) -> None:
        """An async caller gave up: not written if still queued; corrected if committed."""
        with self._handoff:
            pending.abandoned = True
            committed = pending.delivered
        if committed is not None:  # committed, its answer on the way: the caller sent none
            self._withhold(pending.records, committed)

    def _withhold_if(self, pending: Pending, done: Future[list[AppendedEntry]]) -> None:
        """A thread's caller gave up while its records were being written: if committed."""
        if done.exception() is None:
            self._withhold(pending.records, done.result())

    def _withhold(self, records: list[AuditRecord], committed: list[AppendedEntry]) -> None:
        """Append the entries saying these committed decisions were never answered with data.

        A caller stops waiting (the append timeout, a cancelled request) while the appender
        is already writing its records: they are committed as decided (e.g. ``allowed``), but
        the caller answered 503 and sent nothing. The log must not leave that unsaid. On the
        appender thread they are written at once (nothing queued is left behind at close);
        from a caller, queued like any append.
        """
        corrections = withheld(records, committed)
        owner = self._owner()
        if owner is None or threading.current_thread() is not self._thread:
            self._submit(corrections)
            return
        try:
            owner._write(corrections, kept=self._kept)
        except AuditUnavailable as exc:
            seqs = [e.seq for e in committed]
            log.error("the 'answer withheld' entries of %s were not written: %s", seqs, exc)

    def close(self) -> None:
        """Write what is queued, stop the appender thread and close its connection."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=self._timeout + 5)
        self._thread = None
        self._kept.drop()

    def _submit(
        self,
        records: list[AuditRecord],
        waiter: asyncio.Future[list[AppendedEntry]] | None = None,
        *,
        future: Future[list[AppendedEntry]] | None = None,
    ) -> Pending:
        pending = Pending(records, future=future, waiter=waiter)
        self._queue.put(pending)
        self._ensure_thread()
        return pending

    def _ensure_thread(self) -> None:
        # Always under the lock: the thread decides to exit under it too (see ``_idle``).
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=_appender, args=(self._owner,), name="audit-appender", daemon=True
                )
                self._thread.start()

    def _take_batch(self, first: Pending | None) -> tuple[list[Pending], bool]:
        """Collect what is queued behind ``first`` (up to the batch size); None means stop."""
        batch: list[Pending] = []
        stop = first is None
        count = 0
        item = first
        while item is not None:
            if item.claim():
                batch.append(item)
                count += len(item.records)
            if count >= self._batch_max:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
        return batch, stop

    def _idle(self, owner: _Log) -> bool:
        """Checkpoint an idle tail; return whether the thread should now exit."""
        if owner._tail:
            owner._checkpoint_tail()
            return False
        with self._start_lock:
            if self._queue.empty():
                self._thread = None
                self._kept.drop()  # a new thread takes a new connection
                return True  # the next append starts a new thread
        return False

    def _commit(self, owner: _Log, batch: list[Pending]) -> None:
        records = [r for p in batch for r in p.records]
        try:
            appended = owner._write(records, kept=self._kept)
        except AuditUnavailable as exc:
            _settle(batch, error=exc)
            return
        except BaseException as exc:  # a bug must still release the callers (fail closed)
            log.exception("access log appender failed", exc_info=exc)
            _settle(batch, error=AuditUnavailable("the access log cannot be written"))
            return
        results = []
        start = 0
        late: list[tuple[Pending, list[AppendedEntry]]] = []
        with self._handoff:
            for p in batch:
                mine = appended[start : start + len(p.records)]
                start += len(p.records)
                results.append(mine)
                if p.waiter is not None and p.abandoned:
                    late.append((p, mine))  # its caller gave up after the claim
                else:
                    p.delivered = mine
        _settle(batch, results=results)
        for p, mine in late:
            self._withhold(p.records, mine)


def withheld(records: list[AuditRecord], committed: list[AppendedEntry]) -> list[AuditRecord]:
    """Return one ``denied``/503 entry per committed record whose caller sent no data."""
    return [
        dataclasses.replace(
            record,
            decision="denied",
            outcome=503,
            items_returned=(),
            record_count=0,
            response_hash=None,
            at=None,
            reason=f"answer withheld: entry {entry.seq} was committed after its caller "
            "stopped waiting (the access-log timeout passed or the request was cancelled); "
            "no data was sent",
        )
        for record, entry in zip(records, committed, strict=True)
    ]


class _Expired(Exception):
    """The commit did not come within the append timeout."""


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


def _settle(
    batch: list[Pending],
    *,
    results: list[list[AppendedEntry]] | None = None,
    error: BaseException | None = None,
) -> None:
    """Release the callers of a batch: threads at once, async callers one loop call each loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Pending, Any]]] = {}
    for i, p in enumerate(batch):
        outcome: Any = error
        if results is not None:
            outcome = results[i]
            if p.future is not None:
                p.future.set_result(outcome)
        else:
            if p.future is not None:
                p.future.set_exception(error)
        if p.waiter is not None:
            by_loop.setdefault(p.waiter.get_loop(), []).append((p, outcome))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle_waiters, items, results is None)


def _settle_waiters(items: list[tuple[Pending, Any]], failed: bool) -> None:
    for p, outcome in items:
        waiter = p.waiter
        if waiter is None or waiter.done():  # its caller gave up (timeout, cancelled)
            continue
        if failed:
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _appender(ref: weakref.ref[_Log]) -> None:
    """The appender thread: write whatever is queued as one batch; checkpoint an idle tail.

    It holds its log only weakly while it waits, so a log nobody uses any more (an app
    that was dropped without ``close``) lets its thread end.
    """
    idle_since = time.monotonic()
    while True:
        audit = ref()
        if audit is None:
            return
        wait = audit._period.total_seconds() if audit._tail else 1.0
        pending = audit._committer._queue
        del audit
        try:
            first = pending.get(timeout=wait)
        except queue.Empty:
            audit = ref()
            if audit is None:
                return
            idle = audit._tail or time.monotonic() - idle_since > 1.0
            if idle and audit._committer._idle(audit):
                return
            continue
        audit = ref()
        if audit is None:
            return
        batch, stop = audit._committer._take_batch(first)
        if batch:
            audit._committer._commit(audit, batch)
        idle_since = time.monotonic()
        if stop:
            return
