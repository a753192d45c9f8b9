"""The connectors' thread pool: calls settle the caller's asyncio future, shutdown is clean."""

from __future__ import annotations

import asyncio
import threading

import pytest

from connectors.adapters.workers import Workers


def test_a_call_settles_its_future_with_the_result_or_the_error() -> None:
    workers = Workers(2, "test-workers")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ok, failing = loop.create_future(), loop.create_future()
        workers.submit(loop, ok, lambda a, b: (a + b, threading.current_thread().name), 2, 3)
        workers.submit(loop, failing, lambda: 1 / 0)
        total, thread = await ok
        assert total == 5
        assert thread.startswith("test-workers_")
        with pytest.raises(ZeroDivisionError):
            await failing

    asyncio.run(scenario())
    workers.shutdown(wait=True)


def test_a_call_cancelled_before_its_turn_never_runs() -> None:
    workers = Workers(1, "test-workers")
    gate = threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        busy, waiting = loop.create_future(), loop.create_future()
        workers.submit(loop, busy, gate.wait, 5)  # holds the only thread
        workers.submit(loop, waiting, ran.append, "ran")
        waiting.cancel()
        gate.set()
        assert await busy is True

    asyncio.run(scenario())
    workers.shutdown(wait=True)
    assert ran == []


def test_shutdown_cancels_queued_calls_and_refuses_new_ones() -> None:
    workers = Workers(1, "test-workers")
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(5)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        busy, queued = loop.create_future(), loop.create_future()
        workers.submit(loop, busy, hold)
        workers.submit(loop, queued, lambda: "too late")
        assert await asyncio.to_thread(started.wait, 5)  # the only thread is taken
        workers.shutdown(wait=False)
        gate.set()
        assert await busy is True  # a running call finishes
        with pytest.raises(asyncio.CancelledError):
            await queued
        with pytest.raises(RuntimeError, match="after shutdown"):
            workers.submit(loop, loop.create_future(), lambda: None)

    asyncio.run(scenario())
