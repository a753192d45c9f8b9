"""A small thread pool whose threads settle the caller's asyncio future themselves.

``loop.run_in_executor`` costs, per call on the event loop's thread, a
``concurrent.futures.Future`` (with its Condition and lock), a work item, a second (asyncio)
future chained to the first and, with ``asyncio.wait_for``, a third future and a timer. A
connector lookup is a few hundred microseconds of driver work, and every record pull pays
that overhead on the one thread all pulls share. Here a call is one tuple on a
``SimpleQueue``, and one ``call_soon_threadsafe`` from the worker sets the result (or the
exception) on the future the caller awaits; a future cancelled before its turn is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class Workers:
    """``max_workers`` daemon threads (started on first use) running calls for asyncio futures."""

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max_workers
        self.name = name
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        fn: Callable[..., Any],
        *args: Any,
    ) -> None:
        """Run ``fn(*args)`` in a worker; its result or exception settles ``future`` on ``loop``."""
        if self._closed:
            raise RuntimeError(f"{self.name}: cannot schedule new calls after shutdown")
        if len(self._threads) < self.max_workers:
            self._start()
        self._queue.put((loop, future, fn, args))

    def shutdown(self, *, wait: bool) -> None:
        """Refuse new calls, cancel the queued ones, let running ones finish (``wait``: join)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                _post(item[0], _cancel, item[1])
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()

    def _start(self) -> None:
        with self._lock:
            while not self._closed and len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            loop, future, fn, args = item
            del item
            # Read across threads: at worst a call cancelled this instant still runs, as
            # with an executor whose work item has started.
            if future.cancelled():
                continue
            try:
                result = fn(*args)
            except Exception as exc:
                _post(loop, _fail, future, exc)
            else:
                _post(loop, _succeed, future, result)
            del loop, future, fn, args


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the answer
        loop.call_soon_threadsafe(callback, *args)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)


def _cancel(future: asyncio.Future[Any]) -> None:
    future.cancel()
