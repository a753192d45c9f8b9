"""Appending: committed in its own transaction, gap-free, signed head, checkpoints and files."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from exchange.audit import rules
from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from exchange.audit.records import AuditRecord
from exchange.audit.verify import verify_log
from exchange.core.settings import Settings
from tests.audit.support import checkpoint_dir, make_log, record


@pytest.mark.parametrize("group", [True, False], ids=["group-commit", "one-per-entry"])
def test_appends_are_numbered_chained_and_committed(settings: Settings, group: bool) -> None:
    log = make_log(settings, audit_group_commit=group, audit_checkpoint_every=5)
    try:
        appended = [log.append(record(i)) for i in range(12)]
        assert [a.seq for a in appended] == list(range(1, 13))
        chain = rules.GENESIS
        for a in appended:
            chain = rules.chain_hash(chain, a.entry_hash)
            assert a.chain_hash == chain
        # Durable: another connection sees every entry once append returned.
        with log.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(AuditEntry)).scalar() == 12
            head = conn.execute(select(AuditHead)).one()
            sizes = conn.execute(select(AuditCheckpoint.size)).scalars().all()
        assert (head.size, head.chain_head, head.checkpoint_size) == (12, chain, 10)
        assert sizes == [5, 10]
        files = sorted(p.name for p in checkpoint_dir(settings).rglob("checkpoint-*.json"))
        assert files == ["checkpoint-000000000005.json", "checkpoint-000000000010.json"]
        keys = list((checkpoint_dir(settings) / "keys").glob("*.json"))
        assert len(keys) == 1 and json.loads(keys[0].read_text())["crv"] == "Ed25519"
        assert verify_log(log.engine, secret="x", witness_dir=None).size == 12
    finally:
        log.close()


def test_the_stored_entry_is_the_record(settings: Settings) -> None:
    log = make_log(settings)
    at = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
    try:
        entry = log.append(record(3, at=at, case_id="浙-2026-001", grant_ids=[4, 5]))
        with log.engine.connect() as conn:
            row = conn.execute(
                select(AuditEntry.__table__).where(AuditEntry.seq == entry.seq)
            ).one()
    finally:
        log.close()
    assert row.at == at.replace(microsecond=456000)
    assert (row.case_id, row.grant_ids, row.items_requested) == (
        "浙-2026-001",
        [4, 5],
        ["name", "id_number"],
    )
    assert row.entry_hash == entry.entry_hash


def test_append_many_is_one_transaction(settings: Settings) -> None:
    log = make_log(settings)
    try:
        first = log.append(record(0))
        batch = log.append_many([record(i) for i in range(1, 4)])
        assert [a.seq for a in batch] == [2, 3, 4]
        assert batch[0].chain_hash == rules.chain_hash(first.chain_hash, batch[0].entry_hash)
    finally:
        log.close()


def test_concurrent_threads_get_one_gap_free_chain(settings: Settings) -> None:
    log = make_log(settings, audit_checkpoint_every=50)
    seqs: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(25):
            entry = log.append(record(n * 100 + i))
            with lock:
                seqs.append(entry.seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(seqs) == list(range(1, 201))
        result = verify_log(log.engine, secret=settings.secret_key.get_secret_value())
        assert result.ok, result.problems
        assert result.checkpoints_checked >= 3  # at batch boundaries, every 50 or more
    finally:
        log.close()


def test_async_append_does_not_block_the_loop(settings: Settings) -> None:
    log = make_log(settings)

    async def main() -> list[int]:
        entries = await asyncio.gather(*(log.aappend(record(i)) for i in range(10)))
        return [e.seq for e in entries]

    try:
        assert sorted(asyncio.run(main())) == list(range(1, 11))
    finally:
        log.close()


def test_a_checkpoint_comes_after_t_seconds_even_when_idle(settings: Settings) -> None:
    log = make_log(settings, audit_checkpoint_every=1000, audit_checkpoint_seconds=0.3)
    try:
        log.append(record(1))
        log.append(record(2))
        deadline = datetime.now(UTC).timestamp() + 10
        while datetime.now(UTC).timestamp() < deadline:
            with log.engine.connect() as conn:
                if conn.execute(select(func.max(AuditCheckpoint.size))).scalar() == 2:
                    break
            threading.Event().wait(0.1)
        else:
            pytest.fail("no checkpoint covered the idle tail")
    finally:
        log.close()


def test_records_are_validated_and_oversized_values_cut(settings: Settings) -> None:
    with pytest.raises(ValueError, match="decision"):
        AuditRecord(decision="maybe", outcome=200)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grant_ids"):
        AuditRecord(decision="allowed", outcome=200, grant_ids=["7"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="items_requested"):
        AuditRecord(decision="allowed", outcome=200, items_requested="name")
    log = make_log(settings)
    try:
        entry = log.append(record(1, subject_key="x" * 5000 + "\x00", case_id="a\x00b"))
        with log.engine.connect() as conn:
            row = conn.execute(
                select(AuditEntry.subject_key, AuditEntry.case_id).where(
                    AuditEntry.seq == entry.seq
                )
            ).one()
    finally:
        log.close()
    assert len(row.subject_key) == 256 and row.subject_key.endswith("…")
    assert row.case_id == "a\ufffdb"


def test_the_database_refuses_updates_and_deletes(settings: Settings) -> None:
    log = make_log(settings)
    try:
        log.append(record(1))
        for statement in (
            "UPDATE audit_entries SET purpose = 'x' WHERE seq = 1",
            "DELETE FROM audit_entries WHERE seq = 1",
        ):
            with pytest.raises(Exception, match="append-only"), log.engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        log.close()


def test_verify_while_the_log_grows(settings: Settings) -> None:
    """A live hub keeps appending while an auditor verifies: no false alarm."""
    log = make_log(settings, audit_checkpoint_every=20)
    stop = threading.Event()

    def keep_appending() -> None:
        i = 0
        while not stop.is_set():
            log.append(record(i))
            i += 1

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        for _ in range(3):
            threading.Event().wait(0.1)
            result = verify_log(log.engine, secret=settings.secret_key.get_secret_value())
            assert result.ok, result.problems
    finally:
        stop.set()
        writer.join()
        log.close()
