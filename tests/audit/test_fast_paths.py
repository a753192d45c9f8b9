"""The fast paths of the access log give the answers of the plain ones, on any log.

Verify checks a few thousand entries per fetch and only reads row by row where a batch
does not pass whole; export reads Arrow batches through ADBC in a reader process (or
SQLAlchemy where ADBC cannot go); the append path writes through the driver. Each is
compared here with the plain way on clean and on tampered logs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from exchange.audit import arrow, repository, rules
from exchange.audit.export import export_log
from exchange.audit.verify import check_range, check_rows, verify_log
from exchange.core.db import make_engine
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from tests.audit import tampering
from tests.audit.support import allow_tampering, make_log, record


def fill(settings: Settings, count: int, **overrides: Any) -> None:
    log = make_log(settings, audit_checkpoint_every=25, audit_group_commit=False)
    try:
        for start in range(0, count, 10):
            log.append_many([record(i, **overrides) for i in range(start, min(count, start + 10))])
    finally:
        log.close()


# Pure rules ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.lists(st.text(max_size=12), max_size=6),
        st.lists(st.integers(min_value=-(2**63), max_value=2**63), max_size=6),
    )
)
def test_list_text_is_json_dumps(values: list[Any]) -> None:
    expected = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    assert rules.list_text(values) == expected


def test_subject_hmacs_are_subject_hmac() -> None:
    key = rules.export_key("a hub secret")
    subjects = ["330102199001011234", "", "陈某", "x" * 300]
    assert rules.subject_hmacs(key, subjects) == [rules.subject_hmac(key, s) for s in subjects]


def chain_of(count: int) -> tuple[str, str]:
    entries = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]
    chains, chain = [], rules.GENESIS
    for entry in entries:
        chain = rules.chain_hash(chain, entry)
        chains.append(chain)
    return "".join(entries), "".join(chains)


def test_first_broken_link() -> None:
    entries, chains = chain_of(9)
    assert rules.first_broken_link(rules.GENESIS, entries, chains) is None
    broken = chains[: 64 * 4] + "0" * 64 + chains[64 * 5 :]
    assert rules.first_broken_link(rules.GENESIS, entries, broken) == 4
    assert rules.first_broken_link("1" * 64, entries, chains) == 0
    assert rules.first_broken_link(rules.GENESIS, entries, chains[:-1] + "x") == 8
    with pytest.raises(ValueError):
        rules.first_broken_link(rules.GENESIS, entries[:-1] + "x", chains)


def test_run_verifies_only_a_run_that_hashes_and_links() -> None:
    forms = [f'{{"seq":{i}}}'.encode() for i in range(5)]
    digests = [hashlib.sha256(f).hexdigest() for f in forms]
    pairs, chain = [], rules.GENESIS
    for digest in digests:
        chain = rules.chain_hash(chain, digest)
        pairs.append(digest + chain)
    joined = b"\n".join(forms)
    assert rules.run_verifies(rules.GENESIS, 5, joined, "".join(pairs))
    assert not rules.run_verifies(rules.GENESIS, 5, joined.replace(b"3", b"4"), "".join(pairs))
    assert not rules.run_verifies("0" * 64, 5, joined, "".join(pairs))
    assert not rules.run_verifies(rules.GENESIS, 5, joined, "".join(pairs).upper())
    assert not rules.run_verifies(rules.GENESIS, 4, joined, "".join(pairs))


# Verify: batches against row by row ---------------------------------------------------------


forgeries = st.lists(
    st.one_of(
        st.builds(
            lambda i, n, r: lambda c: tampering.edit(c, index=i, name=n, recompute=r),
            st.integers(0, 59),
            st.sampled_from((*rules.ENTRY_FIELDS, "entry_hash", "chain_hash")),
            st.booleans(),
        ),
        st.builds(
            lambda i, r: lambda c: tampering.remove(c, index=i, renumber=r),
            st.integers(0, 50),
            st.booleans(),
        ),
        st.builds(lambda k: lambda c: tampering.truncate(c, keep=k), st.integers(40, 59)),
    ),
    min_size=0,
    max_size=3,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean 60-entry SQLite log, copied for each example."""
    base = tmp_path_factory.mktemp("batches")
    url = f"sqlite:///{base / 'hub.db'}"
    upgrade(url)
    fill(Settings(environment="test", database_url=url, data_dir=base / "var"), 60)
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return base / "hub.db"


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(forge=forgeries, batch=st.sampled_from([1, 3, 8, 64]))
def test_batches_find_what_rows_find(
    pristine: Path, tmp_path: Path, forge: list[Any], batch: int
) -> None:
    path = tmp_path / f"hub-{len(list(tmp_path.iterdir()))}.db"
    shutil.copyfile(pristine, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            allow_tampering(conn)
            for f in forge:
                # An earlier forgery may have cut the log short or moved an entry.
                with contextlib.suppress(IndexError, IntegrityError):
                    f(conn)
        with engine.connect() as conn:
            assert check_range(conn, 1, 60, batch=batch) == check_rows(conn, 1, 60)
    finally:
        engine.dispose()


def test_a_gap_across_batches_is_one_problem(settings: Settings) -> None:
    fill(settings, 40)
    log = make_log(settings)
    try:
        with log.engine.begin() as conn:
            allow_tampering(conn)
            conn.execute(text("DELETE FROM audit_entries WHERE seq BETWEEN 6 AND 27"))
        result = verify_log(log.engine, secret=None, chunk=10)
    finally:
        log.close()
    missing = [p for p in result.problems if p.kind == "missing"]
    assert [(p.seq, p.detail) for p in missing] == [(6, "entries 6..27")]
    assert result.first_bad_seq == 6


# Export: the reader process against SQLAlchemy ------------------------------------------------


def batches(settings: Settings, monkeypatch: pytest.MonkeyPatch | None, rows: int) -> pa.Table:
    log = make_log(settings)
    try:
        if monkeypatch is not None:
            monkeypatch.setattr(arrow, "adbc_uri", lambda engine: None)
        with arrow.entry_batches(
            log.engine, 1, 30, chain_before=rules.GENESIS, batch_rows=rows
        ) as read:
            return pa.Table.from_batches(list(read))
    finally:
        log.close()


def test_the_reader_process_reads_what_sqlalchemy_reads(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first rows hold NULLs where later ones hold text: ADBC's SQLite driver infers
    # each column's type from its first batch, which the typed first row answers.
    fill(settings, 12, case_id=None, reason=None, policy_version=None)
    fill_more = make_log(settings)
    try:
        fill_more.append_many([record(i, reason="理由", case_id="C-1") for i in range(12, 30)])
    finally:
        fill_more.close()
    fast = batches(settings, None, rows=4)
    slow = batches(settings, monkeypatch, rows=7)
    assert fast.num_rows == slow.num_rows == 30
    for name in arrow.COLUMNS:
        fast_values, slow_values = fast.column(name).to_pylist(), slow.column(name).to_pylist()
        if name == "at" and isinstance(fast_values[0], str):  # SQLite's text, as stored
            fast_values = [datetime.fromisoformat(v).replace(tzinfo=UTC) for v in fast_values]
        assert fast_values == slow_values, name
    assert fast.column("reason").to_pylist()[11:13] == [None, "理由"]


def test_export_is_the_same_through_sqlalchemy(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(settings, 30)
    log = make_log(settings)
    secret = settings.secret_key.get_secret_value()
    try:
        fast = export_log(log.engine, secret=secret, out_dir=tmp_path / "fast")
        monkeypatch.setattr(arrow, "adbc_uri", lambda engine: None)
        slow = export_log(log.engine, secret=secret, out_dir=tmp_path / "slow")
    finally:
        log.close()
    import pyarrow.parquet as pq

    assert pq.read_table(fast.parquet).equals(pq.read_table(slow.parquet))


def test_the_reader_refuses_a_broken_chain_and_says_where(settings: Settings) -> None:
    fill(settings, 30)
    log = make_log(settings)
    try:
        with log.engine.begin() as conn:
            allow_tampering(conn)
            conn.execute(text("UPDATE audit_entries SET chain_hash = entry_hash WHERE seq = 17"))
        seen: list[int] = []
        with (
            pytest.raises(arrow.BrokenLog, match="chain breaks at entry 17"),
            arrow.entry_batches(
                log.engine, 1, 30, chain_before=rules.GENESIS, batch_rows=5
            ) as read,
        ):
            for batch in read:
                seen.append(batch.num_rows)
        assert sum(seen) < 17  # the batches before the break, and not the broken one
    finally:
        log.close()


# Append: the driver path writes what SQLAlchemy would ---------------------------------------


def test_appended_rows_read_back_as_written(settings: Settings) -> None:
    at = datetime(2026, 11, 27, 2, 15, 4, 123000, tzinfo=UTC)
    log = make_log(settings, audit_group_commit=False)
    try:
        entry = log.append(record(3, at=at, items_requested=["名字", 'a"b'], grant_ids=[7, 8]))
        with log.engine.connect() as conn:
            row = conn.execute(
                select(repository.entries).where(repository.entries.c.seq == entry.seq)
            ).one()
            head = repository.read_head(conn)
            if conn.dialect.name == "sqlite":  # the text SQLAlchemy itself writes
                stored = conn.exec_driver_sql("SELECT at, checkpoint_at FROM audit_head").one()
                assert stored[0][10] == " " and len(stored[0]) == 26
    finally:
        log.close()
    assert row.at == at and row.items_requested == ["名字", 'a"b'] and row.grant_ids == [7, 8]
    assert row.entry_hash == entry.entry_hash and row.chain_hash == entry.chain_hash
    assert head is not None and head.size == entry.seq and head.chain_head == entry.chain_hash
    assert head.at.tzinfo is not None
    assert verify_log(make_log(settings).engine, secret=None).ok
