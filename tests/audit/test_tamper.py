"""Property: verify detects every edit, deletion, swap, insertion and checkpoint tampering.

A log of 300 entries with a checkpoint every 40 and a witness holding all checkpoint
files; hypothesis draws one forgery per example (tests/audit/tampering.py). The forger
may recompute every hash but holds neither the checkpoint key nor the hub secret. The
documented limit (cutting back to an earlier signed state and replaying that state's
signature) is not drawn: nothing but a fresher witness checkpoint can show it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from exchange.audit.rules import ENTRY_FIELDS
from exchange.audit.verify import VerifyResult, verify_log
from exchange.core.db import make_engine
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from tests.audit import tampering
from tests.audit.support import allow_tampering, make_log, record

SIZE, EVERY = 300, 40
SECRET = Settings().secret_key.get_secret_value()


def build(settings: Settings, size: int = SIZE) -> None:
    """Fill the test database with ``size`` entries, a checkpoint every ``EVERY``."""
    log = make_log(settings, audit_checkpoint_every=EVERY, audit_group_commit=False)
    try:
        for start in range(0, size, 20):
            log.append_many([record(i) for i in range(start, min(size, start + 20))])
    finally:
        log.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clean 300-entry SQLite log (WAL folded in) and the witness's checkpoint copy."""
    base = tmp_path_factory.mktemp("tamper")
    url = f"sqlite:///{base / 'hub.db'}"
    upgrade(url)
    settings = Settings(environment="test", database_url=url, data_dir=base / "var")
    build(settings)
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    witness = base / "witness"
    shutil.copytree(base / "var" / "checkpoints", witness)
    return base / "hub.db", witness


def forged(
    pristine: tuple[Path, Path], tmp_path: Path, forge: Callable[[Any], Any]
) -> tuple[VerifyResult, Any]:
    """Copy the clean log, apply ``forge`` as a DBA would, and verify with the witness."""
    path = tmp_path / f"hub-{len(list(tmp_path.iterdir()))}.db"
    shutil.copyfile(pristine[0], path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            allow_tampering(conn)
            outcome = forge(conn)
        return verify_log(engine, secret=SECRET, witness_dir=pristine[1]), outcome
    finally:
        engine.dispose()


def test_the_clean_log_verifies(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    result, _ = forged(pristine, tmp_path, lambda conn: None)
    assert result.ok, result.problems
    assert (result.entries_checked, result.checkpoints_checked) == (SIZE, SIZE // EVERY)
    assert result.witness_checkpoints == SIZE // EVERY


indexes = st.integers(min_value=0, max_value=SIZE - 1)
forgeries = st.one_of(
    st.builds(
        lambda i, n, r: ("edit", lambda c: tampering.edit(c, index=i, name=n, recompute=r)),
        indexes,
        st.sampled_from((*ENTRY_FIELDS, "entry_hash", "chain_hash")),
        st.booleans(),
    ),
    st.builds(
        lambda i, r: ("remove", lambda c: tampering.remove(c, index=i, renumber=r)),
        indexes,
        st.booleans(),
    ),
    st.builds(
        lambda ij, r: ("swap", lambda c: tampering.swap(c, i=ij[0], j=ij[1], recompute=r)),
        st.tuples(indexes, indexes).filter(lambda ij: ij[0] != ij[1]),
        st.booleans(),
    ),
    st.builds(
        lambda i: ("insert", lambda c: tampering.forge_entry(c, index=i)),
        st.integers(min_value=0, max_value=SIZE),
    ),
    st.builds(
        lambda k: ("truncate", lambda c: tampering.truncate(c, keep=k)),
        st.integers(min_value=0, max_value=SIZE - 1),
    ),
    st.builds(
        lambda i, n: ("checkpoint", lambda c: tampering.edit_checkpoint(c, index=i, name=n)),
        st.integers(min_value=0, max_value=SIZE // EVERY - 1),
        st.sampled_from(["chain_head", "at", "previous", "signature", "statement_hash", "size"]),
    ),
    st.builds(
        lambda i: ("drop-checkpoint", lambda c: tampering.delete_checkpoint(c, index=i)),
        st.integers(min_value=0, max_value=SIZE // EVERY - 1),
    ),
    st.builds(
        lambda n: ("head", lambda c: tampering.edit_head(c, name=n)),
        st.sampled_from(["size", "chain_head", "signature", "checkpoint_size", "checkpoint_hash"]),
    ),
    st.builds(
        lambda i: ("resign", lambda c: tampering.resign_everything(c, index=i)),
        indexes,
    ),
)


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(forgery=forgeries)
def test_verify_detects_every_forgery(
    pristine: tuple[Path, Path], tmp_path: Path, forgery: tuple[str, Any]
) -> None:
    kind, forge = forgery
    result, first_bad = forged(pristine, tmp_path, forge)
    assert not result.ok, f"{kind} went unnoticed"
    assert result.first_bad_seq is not None or any(p.seq is None for p in result.problems)
    if kind == "edit" and first_bad:
        assert result.first_bad_seq == first_bad  # a plain edit is named exactly


@pytest.mark.parametrize(
    ("forge", "first_bad"),
    [
        (lambda c: tampering.edit(c, index=49, name="subject_key", recompute=False), 50),
        (lambda c: tampering.edit(c, index=99, name="items_returned", recompute=True), 81),
        (lambda c: tampering.forge_entry(c, index=SIZE), 301),
        (lambda c: tampering.remove(c, index=SIZE - 1, renumber=False), 300),
        (lambda c: tampering.resign_everything(c, index=10), 1),
    ],
    ids=["edit", "edit-and-rehash", "append-forged", "cut-last", "own-key"],
)
def test_verify_names_the_first_bad_sequence_number(
    pristine: tuple[Path, Path], tmp_path: Path, forge: Callable[[Any], Any], first_bad: int
) -> None:
    result, _ = forged(pristine, tmp_path, forge)
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.problems


def test_on_postgres_too(postgres_database: str, tmp_path: Path) -> None:
    """Smoke run of the same forgeries on the real PostgreSQL."""
    settings = Settings(environment="test", database_url=postgres_database, data_dir=tmp_path)
    engine = make_engine(postgres_database)
    try:
        for forge, first_bad in [
            (lambda c: tampering.edit(c, index=30, name="reason", recompute=False), 31),
            (lambda c: tampering.edit(c, index=70, name="at", recompute=True), 41),
            (lambda c: tampering.forge_entry(c, index=120), 121),
        ]:
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_entries, audit_checkpoints, audit_head"))
            build(settings, size=120)
            assert verify_log(engine, secret=SECRET).ok
            with engine.begin() as conn:
                allow_tampering(conn)
                forge(conn)
            result = verify_log(engine, secret=SECRET)
            assert result.first_bad_seq == first_bad, result.problems
    finally:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_entries, audit_checkpoints, audit_head, audit_keys"))
        engine.dispose()
