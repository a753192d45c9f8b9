"""Idempotency-Key: one key does its work once, across threads, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exchange.applications import idempotency
from exchange.applications.idempotency import Claim, claim, complete, release, request_sha256
from exchange.applications.models import IdempotencyRecord
from exchange.core.db import make_engine, make_sessionmaker, utcnow
from exchange.core.errors import Conflict, DomainError, InvalidInput

STALE = 120.0
H1 = request_sha256({"one_thing": "esf-transfer", "identifiers": {"resident_id": "1"}})
H2 = request_sha256({"one_thing": "newborn"})


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url, pool_size=10, max_overflow=10)
    yield make_sessionmaker(engine)
    engine.dispose()


def records(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0


def test_first_claim_is_new_work_then_the_same_request_replays(
    factory: sessionmaker[Session],
) -> None:
    first = claim(
        factory, caller="zj-zrzyt-window", key="k-1", request_sha256=H1, stale_after_seconds=STALE
    )
    assert first.replay is False and first.status is None
    complete(factory, first.record_id, status=201, body='{"number":"BJ1"}', application_id=None)
    again = claim(
        factory, caller="zj-zrzyt-window", key="k-1", request_sha256=H1, stale_after_seconds=STALE
    )
    assert again == Claim(
        record_id=first.record_id, replay=True, status=201, body='{"number":"BJ1"}'
    )
    assert records(factory) == 1


@pytest.mark.parametrize("done", [False, True])
def test_a_different_payload_under_the_same_key_is_422_naming_the_header(
    factory: sessionmaker[Session], done: bool
) -> None:
    first = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    if done:
        complete(factory, first.record_id, status=201, body="{}", application_id=None)
    with pytest.raises(InvalidInput) as caught:
        claim(factory, caller="w", key="k", request_sha256=H2, stale_after_seconds=STALE)
    assert caught.value.status == 422
    assert caught.value.errors is not None
    assert caught.value.errors[0]["field"] == "Idempotency-Key"
    assert "Idempotency-Key 'k'" in caught.value.detail


def test_the_same_key_in_flight_is_409_with_retry_after(factory: sessionmaker[Session]) -> None:
    claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    with pytest.raises(Conflict) as caught:
        claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    assert caught.value.status == 409
    assert "still being processed" in caught.value.detail
    assert caught.value.headers == {"Retry-After": "1"}


def test_keys_belong_to_their_caller(factory: sessionmaker[Session]) -> None:
    a = claim(factory, caller="window-a", key="k", request_sha256=H1, stale_after_seconds=STALE)
    b = claim(factory, caller="window-b", key="k", request_sha256=H2, stale_after_seconds=STALE)
    assert a.record_id != b.record_id and not a.replay and not b.replay


def test_a_stale_in_flight_key_is_taken_over_once(factory: sessionmaker[Session]) -> None:
    t0 = utcnow() - timedelta(hours=1)
    crashed = claim(
        factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE, now=t0
    )
    later = t0 + timedelta(seconds=STALE + 1)
    taken = claim(
        factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE, now=later
    )
    assert taken == Claim(record_id=crashed.record_id, replay=False, status=None, body=None)
    # The takeover refreshed the record: it is in flight again, not stale.
    with pytest.raises(Conflict):
        claim(
            factory,
            caller="w",
            key="k",
            request_sha256=H1,
            stale_after_seconds=STALE,
            now=later + timedelta(seconds=1),
        )
    complete(factory, taken.record_id, status=201, body="ok", application_id=None)
    replay = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    assert replay.replay and replay.body == "ok"


def test_a_stale_key_with_a_different_payload_is_still_422(factory: sessionmaker[Session]) -> None:
    t0 = utcnow() - timedelta(hours=1)
    claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE, now=t0)
    with pytest.raises(InvalidInput):
        claim(factory, caller="w", key="k", request_sha256=H2, stale_after_seconds=STALE)


def test_release_forgets_the_key_so_the_client_may_retry(factory: sessionmaker[Session]) -> None:
    first = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    release(factory, first.record_id)
    assert records(factory) == 0
    # After a failure the client may even correct its payload under the same key.
    retry = claim(factory, caller="w", key="k", request_sha256=H2, stale_after_seconds=STALE)
    assert retry.replay is False and records(factory) == 1


def test_release_and_complete_leave_a_done_key_alone(factory: sessionmaker[Session]) -> None:
    first = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    complete(factory, first.record_id, status=201, body="first", application_id=None)
    release(factory, first.record_id)
    complete(factory, first.record_id, status=500, body="second", application_id=None)
    replay = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    assert (replay.status, replay.body) == (201, "first")


def test_an_owner_whose_key_was_taken_over_can_write_nothing(
    factory: sessionmaker[Session],
) -> None:
    t0 = utcnow() - timedelta(hours=1)
    crashed = claim(
        factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE, now=t0
    )
    taken = claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    with factory() as session:
        with pytest.raises(idempotency.Superseded) as caught:
            idempotency.guard(session, crashed)
        assert caught.value.status == 409 and caught.value.headers == {"Retry-After": "1"}
        with pytest.raises(idempotency.Superseded):
            idempotency.attach(session, crashed, 1)
        with pytest.raises(idempotency.Superseded):
            idempotency.complete_in(session, crashed, status=201, body="x", application_id=1)
        assert idempotency.give_up(session, crashed) == (False, None)
        session.commit()
    assert records(factory) == 1  # the new owner's key is untouched
    with factory() as session:
        idempotency.guard(session, taken)
        assert idempotency.give_up(session, taken) == (True, None)
        session.commit()
    assert records(factory) == 0


def test_abandoned_keys_are_listed_and_taken_over_once(factory: sessionmaker[Session]) -> None:
    t0 = utcnow() - timedelta(hours=1)
    old = claim(
        factory, caller="w", key="old", request_sha256=H1, stale_after_seconds=STALE, now=t0
    )
    claim(factory, caller="w", key="fresh", request_sha256=H1, stale_after_seconds=STALE)
    done = claim(
        factory, caller="w", key="done", request_sha256=H1, stale_after_seconds=STALE, now=t0
    )
    complete(factory, done.record_id, status=201, body="{}", application_id=None)
    now = utcnow()
    found = idempotency.abandoned(factory, stale_after_seconds=STALE, now=now, limit=10)
    assert found == [idempotency.Abandoned(old.record_id, "w", None)]
    mine = idempotency.take_over(factory, found[0], stale_after_seconds=STALE, now=now)
    assert mine is not None and mine.record_id == old.record_id and mine.application_id is None
    assert idempotency.take_over(factory, found[0], stale_after_seconds=STALE, now=now) is None
    # Taken over, it is in flight again: the client hears 409, not a second start.
    with pytest.raises(Conflict):
        claim(factory, caller="w", key="old", request_sha256=H1, stale_after_seconds=STALE)


def run_together(n: int, work: Callable[[], Claim]) -> list[Any]:
    """Run ``work`` in n threads released at once; return each Claim or DomainError."""
    barrier = threading.Barrier(n)
    out: list[Any] = []
    lock = threading.Lock()

    def go() -> None:
        barrier.wait(timeout=10)
        try:
            result: Any = work()
        except DomainError as exc:
            result = exc
        with lock:
            out.append(result)

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_concurrent_claims_of_one_key_make_exactly_one_new_claim(
    factory: sessionmaker[Session],
) -> None:
    for round_ in range(3):
        key = f"race-{round_}"
        results = run_together(
            8,
            functools.partial(
                claim, factory, caller="w", key=key, request_sha256=H1, stale_after_seconds=STALE
            ),
        )
        new = [r for r in results if isinstance(r, Claim) and not r.replay]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(new) == 1, results
        assert len(conflicts) == 7, results
    assert records(factory) == 3


def test_two_hub_processes_claiming_one_key_make_exactly_one_claim(database_url: str) -> None:
    # Two engines (pools of their own), as two hub processes would have.
    engines = [make_engine(database_url) for _ in range(2)]
    factories = [make_sessionmaker(e) for e in engines]
    turn = iter(range(6))
    lock = threading.Lock()

    def work() -> Claim:
        with lock:
            mine = factories[next(turn) % 2]
        return claim(mine, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)

    try:
        results = run_together(6, work)
        assert sum(isinstance(r, Claim) for r in results) == 1, results
        assert sum(isinstance(r, Conflict) for r in results) == 5, results
        assert records(factories[0]) == 1
    finally:
        for e in engines:
            e.dispose()


def test_concurrent_takeovers_of_a_stale_key_make_exactly_one(
    factory: sessionmaker[Session],
) -> None:
    t0 = utcnow() - timedelta(hours=1)
    crashed = claim(
        factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE, now=t0
    )
    results = run_together(
        6, lambda: claim(factory, caller="w", key="k", request_sha256=H1, stale_after_seconds=STALE)
    )
    taken = [r for r in results if isinstance(r, Claim)]
    assert [t.record_id for t in taken] == [crashed.record_id], results
    assert sum(isinstance(r, Conflict) for r in results) == 5
    assert records(factory) == 1


def test_concurrent_different_payloads_one_wins_the_rest_are_told(
    factory: sessionmaker[Session],
) -> None:
    hashes = iter([H1, H2] * 3)
    lock = threading.Lock()

    def work() -> Claim:
        with lock:
            h = next(hashes)
        return claim(factory, caller="w", key="k", request_sha256=h, stale_after_seconds=STALE)

    results = run_together(6, work)
    winners = [r for r in results if isinstance(r, Claim)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict | InvalidInput) for r in results if r not in winners)
    assert sum(isinstance(r, InvalidInput) for r in results) == 3  # the other payload's three


# ---- pure parts ----------------------------------------------------------------------


def test_request_hash_is_canonical() -> None:
    a = request_sha256({"b": [1, {"y": "张三", "x": None}], "a": 1.5})
    b = request_sha256({"a": 1.5, "b": [1, {"x": None, "y": "张三"}]})
    assert a == b and len(a) == 64
    assert a != request_sha256({"a": 1.5, "b": [{"x": None, "y": "张三"}, 1]})


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_request_hash_ignores_key_order(payload: dict[str, Any]) -> None:
    reordered = dict(reversed(list(payload.items())))
    assert request_sha256(payload) == request_sha256(reordered)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (None, "is required"),
        ("", "is required"),
        ("   ", "is required"),
        ("k" * 256, "at most 255"),
        ("键", "printable ASCII"),
        ("a\tb", "printable ASCII"),
        (" a", "printable ASCII"),
    ],
)
def test_bad_keys_are_named(key: str | None, words: str) -> None:
    [problem] = idempotency.key_problems(key)
    assert problem["field"] == "Idempotency-Key" and words in problem["message"]


def test_good_keys() -> None:
    assert idempotency.key_problems("k") == []
    assert idempotency.key_problems("8e03978e-40d5-43e8-bc93-6894a57f9324") == []
    assert idempotency.key_problems("k" * 255) == []
