"""Undoing a failed submission waits for the database when the database is what failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from exchange.applications import idempotency, undo


class Owners:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, number: str) -> None:
        self.forgotten.append(number)


class Work:
    number = "BJ330000-20261128-000042"


def test_a_failed_undo_is_retried_until_the_database_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []

    def give_up(ctx: Any, claim: idempotency.Claim) -> None:
        attempts.append(claim.record_id)
        if len(attempts) < 3:
            raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(undo, "_give_up", give_up)
    monkeypatch.setattr(undo, "UNDO_RETRY_SECONDS", (0.01, 0.01, 0.01, 0.01))
    owners = Owners()
    ctx: Any = type("Ctx", (), {"owners": owners})()
    claim = idempotency.Claim(record_id=7, replay=False, status=None, body=None)

    async def run() -> None:
        await undo.undo_submission(ctx, claim, Work())  # type: ignore[arg-type]
        assert attempts == [7] and owners.forgotten == []  # not yet: retried in background
        while undo._undoing:
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert attempts == [7, 7, 7]  # the third attempt found the database again
    assert owners.forgotten == [Work.number]


def test_an_undo_that_never_succeeds_gives_up_after_its_schedule(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def give_up(ctx: Any, claim: idempotency.Claim) -> None:
        attempts.append(claim.record_id)
        raise ConnectionRefusedError("the database is down")

    monkeypatch.setattr(undo, "_give_up", give_up)
    monkeypatch.setattr(undo, "UNDO_RETRY_SECONDS", (0.01, 0.01))
    ctx: Any = type("Ctx", (), {"owners": Owners()})()
    claim = idempotency.Claim(record_id=8, replay=False, status=None, body=None)

    async def run() -> None:
        await undo.undo_submission(ctx, claim, None)
        while undo._undoing:
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert attempts == [8, 8, 8]  # once at once, then the two of the schedule
    assert "idempotency_in_flight_seconds" in caplog.text
