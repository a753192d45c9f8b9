"""Fail closed: when the access log cannot be written, append raises AuditUnavailable (503)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from exchange.audit import repository
from exchange.audit.errors import AuditUnavailable
from exchange.audit.log import AuditLog
from exchange.core.db import make_engine
from exchange.core.errors import ServiceUnavailable
from exchange.core.settings import Settings
from tests.audit.support import audit_settings, make_log, record
from tests.conftest import _truncate_postgres


def test_audit_unavailable_is_a_503_problem() -> None:
    error = AuditUnavailable("the access log cannot be written")
    assert isinstance(error, ServiceUnavailable) and error.status == 503


@pytest.mark.parametrize("group", [True, False], ids=["group-commit", "one-per-entry"])
def test_a_missing_table_fails_the_append(settings: Settings, group: bool) -> None:
    log = make_log(settings, audit_group_commit=group)
    try:
        log.append(record(1))
        with log.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away"))
        with pytest.raises(AuditUnavailable):
            log.append(record(2))
        with pytest.raises(AuditUnavailable):
            asyncio.run(log.aappend(record(3)))
    finally:
        with log.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
        log.close()


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "sqlite:///{dir}"],
    ids=["dead-server", "a-directory-not-a-file"],
)
def test_an_unreachable_database_fails_the_append(
    settings: Settings, url: str, tmp_path: Path
) -> None:
    url = url.format(dir=tmp_path)
    options = audit_settings(settings, audit_append_timeout_seconds=3)
    log = AuditLog(url, options)
    try:
        with pytest.raises(AuditUnavailable):
            log.append(record(1))
    finally:
        log.close()


@contextmanager
def _stuck(settings: Settings, **options: Any) -> Iterator[tuple[AuditLog, Callable[[], Any]]]:
    """A log with one entry, and ``held()``: another writer holding the log's lock meanwhile."""
    log = make_log(settings, **options)
    blocker = make_log(settings)

    @contextmanager
    def held() -> Iterator[None]:
        with blocker.engine.begin() as conn:
            repository.lock_head(conn)  # SQLite: BEGIN IMMEDIATE already holds it
            yield
            conn.rollback()

    try:
        log.append(record(1))
        yield log, held
    finally:
        blocker.close()
        log.close()


def test_a_stuck_writer_times_out_as_unavailable(settings: Settings) -> None:
    """Another writer holds the log's lock beyond the timeout: 503, not a hang."""
    stuck = _stuck(settings, audit_append_timeout_seconds=0.5)
    with stuck as (log, held), held(), pytest.raises(AuditUnavailable):
        log.append(record(2))


def test_an_awaited_append_past_the_timeout_is_unavailable(settings: Settings) -> None:
    """The hub's path (aappend): 503 at the timeout, not a hang; the log then goes on."""
    options = {"audit_append_timeout_seconds": 0.5, "audit_group_commit": True}
    with _stuck(settings, **options) as (log, held):
        with held():
            started = time.monotonic()
            with pytest.raises(AuditUnavailable, match=r"did not commit within 0\.5 s"):
                asyncio.run(log.aappend_many([granted(2)]))
            assert time.monotonic() - started < 3  # the timeout, not the lock's 5 s wait
        # Record 2 had been taken by the appender before its caller gave up, so it still
        # lands; its caller was answered 503 with no data, and an entry says so.
        later = asyncio.run(log.aappend_many([record(3)]))
        assert later[0].seq >= 3  # the log goes on
        _assert_withheld(log, committed_seq=2, subject=granted(2).subject_key)


def test_a_thread_append_past_the_timeout_is_corrected_once_committed(
    settings: Settings,
) -> None:
    """The thread path (append): the same 503, and the same correction."""
    options = {"audit_append_timeout_seconds": 0.5, "audit_group_commit": True}
    with _stuck(settings, **options) as (log, held):
        with held(), pytest.raises(AuditUnavailable, match=r"did not commit within 0\.5 s"):
            log.append(granted(2))
        _assert_withheld(log, committed_seq=2, subject=granted(2).subject_key)


def test_callers_giving_up_together_are_corrected_or_never_written(settings: Settings) -> None:
    """Two callers give up behind a stuck commit: what was taken is corrected, the rest absent."""

    async def two_callers(log: AuditLog) -> tuple[Any, ...]:
        return await asyncio.gather(
            log.aappend_many([granted(2)]),
            log.aappend_many([granted(3)]),
            return_exceptions=True,
        )

    options = {"audit_append_timeout_seconds": 0.5, "audit_group_commit": True}
    with _stuck(settings, **options) as (log, held):
        with held():
            outcomes = asyncio.run(two_callers(log))
        assert all(isinstance(o, AuditUnavailable) for o in outcomes)
        time.sleep(0.5)
        asyncio.run(log.aappend_many([record(4)]))
        rows = _entries(log)
        asked = {granted(2).subject_key, granted(3).subject_key}
        written = {r.subject_key for r in rows if r.decision == "allowed"} & asked
        withheld = [r.subject_key for r in rows if r.outcome == 503 and r.subject_key in asked]
        # Whatever the appender had taken before its callers gave up is corrected; what it
        # had not taken is not in the log at all.
        assert sorted(withheld) == sorted(written)


def granted(i: int) -> Any:
    """An ``allowed`` record (data answered), varied by ``i``."""
    return record(
        i, decision="allowed", outcome=200, items_returned=["name"], record_count=1, reason=None
    )


def _entries(log: AuditLog) -> list[Any]:
    with log.engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM audit_entries ORDER BY seq")))


def _assert_withheld(log: AuditLog, *, committed_seq: int, subject: str | None) -> None:
    """Entry ``committed_seq`` is followed (within 5 s) by its "answer withheld" entry."""
    deadline = time.monotonic() + 5
    while True:
        rows = _entries(log)
        corrections = [
            r for r in rows if r.decision == "denied" and f"entry {committed_seq} " in r.reason
        ]
        if corrections or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (original,) = [r for r in rows if r.seq == committed_seq]
    assert original.decision == "allowed" and original.subject_key == subject
    (correction,) = corrections
    assert correction.seq > committed_seq and correction.outcome == 503
    assert correction.subject_key == subject and correction.record_count == 0
    assert correction.items_returned == "[]" and correction.response_hash is None
    assert "answer withheld" in correction.reason and "no data was sent" in correction.reason


def test_a_role_without_insert_fails_the_append(postgres_database: str, tmp_path: Path) -> None:
    settings = Settings(environment="test", database_url=postgres_database, data_dir=tmp_path)
    role = f"audit_ro_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres_database)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    url = make_url(postgres_database).set(username=role)
    log = AuditLog(url.render_as_string(hide_password=False), settings)
    try:
        with pytest.raises(AuditUnavailable):
            log.append(record(1))
    finally:
        log.close()
        with admin.begin() as conn:
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_the_hub_app_has_an_audit_log(app: FastAPI) -> None:
    assert isinstance(app.state.audit, AuditLog)
    try:
        assert app.state.audit.append(record(1)).seq == 1
    finally:
        app.state.audit.close()


def test_a_connection_the_database_dropped_is_replaced_without_a_failed_append(
    postgres_database: str, tmp_path: Path
) -> None:
    """The appender keeps its connection between commits; a dropped one costs no pull."""
    options = Settings(
        environment="test", database_url=postgres_database, data_dir=tmp_path / "var"
    )
    log = make_log(options)
    admin = make_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        first = log.append(record(1))
        with admin.connect() as conn:  # a restart, an idle timeout, an operator's kill
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert killed >= 1  # the appender's kept connection among them
        second = asyncio.run(log.aappend(record(2)))  # no AuditUnavailable: a new connection
        assert (first.seq + 1, first.chain_hash) == (second.seq, _previous_chain(log, second))
    finally:
        log.close()
        admin.dispose()
        _truncate_postgres(postgres_database)  # the next test finds an empty log


def _previous_chain(log: AuditLog, entry: Any) -> str:
    with log.engine.connect() as conn:
        found: str = conn.execute(
            text("SELECT chain_hash FROM audit_entries WHERE seq = :seq"), {"seq": entry.seq - 1}
        ).scalar_one()
    return found
