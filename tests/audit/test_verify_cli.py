"""``datarun audit verify|search|show|checkpoint`` and verify's progress, range and witness."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from exchange.audit import repository
from exchange.audit.verify import verify_log
from exchange.cli import app as datarun
from exchange.core.settings import Settings, get_settings
from tests.audit.support import allow_tampering, checkpoint_dir, make_log, record

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the CLI at the test database, with 130 entries and a checkpoint every 50."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("DATARUN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATARUN_ENVIRONMENT", "test")
    get_settings.cache_clear()
    log = make_log(settings, audit_checkpoint_every=50, audit_group_commit=False)
    try:
        for start in range(0, 130, 10):
            log.append_many([record(i) for i in range(start, start + 10)])
    finally:
        log.close()
    yield settings
    get_settings.cache_clear()


def test_verify_passes_and_reports_progress(cli_env: Settings) -> None:
    result = runner.invoke(datarun, ["audit", "verify", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "130 entries" in result.stdout and "OK" in result.stdout
    assert "verified 130 / 130 entries" in result.output


def test_verify_fails_naming_the_first_bad_entry(cli_env: Settings) -> None:
    log = make_log(cli_env)
    with log.engine.begin() as conn:
        allow_tampering(conn)
        conn.execute(text("UPDATE audit_entries SET purpose = 'x' WHERE seq IN (77, 99)"))
    log.close()
    result = runner.invoke(datarun, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["first_bad_seq"] == 77 and not report["ok"]
    assert "first bad sequence number 77" in result.output


def test_verify_from_a_sequence_number_in_chunks_over_processes(cli_env: Settings) -> None:
    log = make_log(cli_env)
    seen: list[tuple[int, int]] = []
    result = verify_log(
        log.engine,
        secret=None,
        from_seq=31,
        workers=2,
        chunk=40,
        progress=lambda d, t: seen.append((d, t)),
    )
    log.close()
    assert result.ok and result.entries_checked == 100
    assert seen == [(40, 100), (80, 100), (100, 100)]


def test_the_documented_limit_and_how_a_witness_closes_it(
    settings: Settings, tmp_path: Path
) -> None:
    """Cut back to an earlier signed state (head saved then): only a witness can tell."""
    log = make_log(settings, audit_checkpoint_every=50, audit_group_commit=False)
    try:
        for start in range(0, 100, 10):
            log.append_many([record(i) for i in range(start, start + 10)])
        with log.engine.connect() as conn:
            saved_head = dict(conn.execute(select(repository.head_table)).one()._mapping)
        for start in range(100, 130, 10):
            log.append_many([record(i) for i in range(start, start + 10)])
        log.checkpoint(force=True)  # size 130, which the witness then copies
        witness = tmp_path / "witness"
        shutil.copytree(checkpoint_dir(settings), witness)
        with log.engine.begin() as conn:  # the forger rolls everything back to size 100
            allow_tampering(conn)
            conn.execute(delete(repository.checkpoints).where(repository.checkpoints.c.size > 100))
            conn.execute(delete(repository.entries).where(repository.entries.c.seq > 100))
            conn.execute(update(repository.head_table).values(saved_head))
        alone = verify_log(log.engine, secret=None)
        witnessed = verify_log(log.engine, secret=None, witness_dir=witness)
    finally:
        log.close()
    assert alone.ok and alone.size == 100  # the limit: consistent, signed, and short
    assert not witnessed.ok and witnessed.first_bad_seq == 101
    assert {p.kind for p in witnessed.problems} == {"log_truncated"}


def test_search_show_and_checkpoint(cli_env: Settings) -> None:
    result = runner.invoke(datarun, ["audit", "search", "--department", "zj-d1", "--size", "5"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("43 entries")  # i % 3 == 1 for i in 0..129
    shown = runner.invoke(datarun, ["audit", "show", "7"])
    assert json.loads(shown.stdout)["seq"] == 7
    missing = runner.invoke(datarun, ["audit", "show", "7000"])
    assert missing.exit_code == 2 and "no access-log entry 7000" in missing.output
    made = runner.invoke(datarun, ["audit", "checkpoint"])
    assert made.exit_code == 0, made.output
    assert "checkpoint at size 130" in made.stdout
    assert len(list(checkpoint_dir(cli_env).rglob("checkpoint-*.json"))) == 3
