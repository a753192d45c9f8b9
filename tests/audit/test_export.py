"""``datarun audit export`` and ``report``: Parquet with HMAC'd subjects, signed manifests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from exchange.audit import reports, repository, rules
from exchange.audit.export import export_log, file_sha256
from exchange.cli import app as datarun
from exchange.core.errors import Conflict
from exchange.core.settings import Settings, get_settings
from tests.audit.support import allow_tampering, make_log, record

runner = CliRunner()


def at(day: str, hour: int, minute: int = 0) -> datetime:
    """A UTC time on ``day`` (China time is 8 hours ahead)."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def fill(settings: Settings) -> None:
    """Entries that each report should (or should not) pick out."""
    records = [
        # Wednesday 10:00 China time, with a case: unremarkable.
        record(1, at=at("2026-11-25", 2), subject_key="330102199001011234"),
        # Wednesday 07:00 China time: before 08:30.
        record(2, at=at("2026-11-24", 23), subject_key="330102199001011234"),
        # Saturday 11:00: a non-working day.
        record(3, at=at("2026-11-28", 3)),
        # National Day (Thursday 1 October), 10:00: a holiday.
        record(4, at=at("2026-10-01", 2), decision="allowed", outcome=200),
        # Allowed, but no case id.
        record(
            5,
            at=at("2026-11-25", 3),
            case_id=None,
            department="zj-mz",
            system="zj-mz-w",
            decision="allowed",
            outcome=200,
        ),
    ]
    # A denial spike: 12 denied in one hour, on a day of a few others.
    records += [
        record(6 + i, decision="denied", outcome=403, at=at("2026-11-25", 6, i)) for i in range(12)
    ]
    records += [
        record(20 + i, at=at("2026-11-25", 4 + i % 3), decision="allowed") for i in range(6)
    ]
    log = make_log(settings, audit_group_commit=False)
    try:
        log.append_many(records)
    finally:
        log.close()


def test_export_writes_parquet_without_raw_keys_and_a_signed_manifest(
    settings: Settings, tmp_path: Path
) -> None:
    fill(settings)
    log = make_log(settings)
    out = tmp_path / "exports"
    secret = settings.secret_key.get_secret_value()
    result = export_log(log.engine, secret=secret, out_dir=out)
    assert (result.from_seq, result.to_seq, result.rows) == (1, 23, 23)
    assert b"330102199001011234" not in result.parquet.read_bytes()
    rows = duckdb.sql(
        f"SELECT seq, subject_hmac, items_requested, grant_ids, \"at\" FROM '{result.parquet}' "
        "ORDER BY seq"
    ).fetchall()
    key = rules.export_key(secret)
    assert rows[0][1] == rows[1][1] == rules.subject_hmac(key, "330102199001011234")
    assert rows[0][2] == ["name", "id_number"] and rows[0][3] == [2]
    assert rows[0][4] == at("2026-11-25", 2)
    doc = json.loads(result.manifest.read_text())
    manifest = doc["manifest"]
    with log.engine.connect() as conn:
        jwk = repository.all_keys(conn)[0].public_jwk
        heads = repository.chain_at(conn, [23])
    assert rules.signature_valid(rules.public_from_jwk(jwk), manifest, doc["signature"])
    assert manifest["sha256"] == file_sha256(result.parquet)
    assert (manifest["from_seq"], manifest["to_seq"]) == (1, 23)
    assert (manifest["chain_before"], manifest["chain_head"]) == (rules.GENESIS, heads[23])
    assert manifest["previous_manifest"] is None
    # The next export continues from here and links to this manifest.
    log.append(record(99, at=at("2026-11-26", 2)))
    again = export_log(log.engine, secret=secret, out_dir=out)
    log.close()
    second = json.loads(again.manifest.read_text())["manifest"]
    assert (second["from_seq"], second["to_seq"]) == (24, 24)
    assert second["previous_manifest"] == rules.statement_hash(manifest)
    assert second["chain_before"] == manifest["chain_head"]
    assert reports.check_exports(out) == []
    # An altered file no longer matches its manifest: the reports refuse it.
    with result.parquet.open("ab") as f:
        f.write(b"\0")
    assert reports.check_exports(out) == [
        f"{result.parquet.name}: file missing or altered (SHA-256 differs)"
    ]
    with pytest.raises(Conflict):
        reports.connect(out)


def test_export_refuses_a_broken_chain(settings: Settings, tmp_path: Path) -> None:
    fill(settings)
    log = make_log(settings)
    try:
        with log.engine.begin() as conn:
            allow_tampering(conn)
            conn.execute(text("UPDATE audit_entries SET chain_hash = entry_hash WHERE seq = 5"))
        with pytest.raises(Conflict, match="chain breaks at entry 5"):
            export_log(log.engine, secret="s", out_dir=tmp_path / "x")
        assert not list((tmp_path / "x").glob("*.parquet"))
    finally:
        log.close()


def test_reports(settings: Settings, tmp_path: Path) -> None:
    fill(settings)
    log = make_log(settings)
    secret = settings.secret_key.get_secret_value()
    try:
        export_log(log.engine, secret=secret, out_dir=tmp_path)
    finally:
        log.close()
    con = reports.connect(tmp_path)
    off = reports.run(con, "off-hours", limit=100)
    why = {row[0]: row[-1] for row in off.rows}
    assert why[2] == "before 08:30" and why[3] == why[4] == "non-working day"
    assert 1 not in why and 5 not in why
    no_case = reports.run(con, "no-case")
    assert ("zj-mz", "zj-mz-w", record(5).purpose, 1) in [r[:4] for r in no_case.rows]
    assert sum(r[3] for r in no_case.rows) == 2  # and record 21 (its case id is None too)
    spikes = reports.run(con, "denial-spikes", threshold=10)
    assert [(r[0], r[1]) for r in spikes.rows] == [(at("2026-11-25", 6), 12)]
    assert reports.run(con, "denial-spikes", z=2.0).rows[0][1] == 12
    top = reports.run(con, "top-consumers", limit=1)
    assert {r[0] for r in top.rows} == {f"301001001/00000{i}" for i in range(4)}
    history = reports.run(con, "subject", subject="330102199001011234", secret=secret)
    assert [r[0] for r in history.rows] == [1, 2]
    con.close()


def test_cli_export_and_report(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(settings)
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("DATARUN_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        out = tmp_path / "out"
        done = runner.invoke(datarun, ["audit", "export", "--out", str(out)])
        assert done.exit_code == 0, done.output
        assert "exported entries 1..23" in done.stdout
        nothing = runner.invoke(datarun, ["audit", "export", "--out", str(out)])
        assert nothing.exit_code == 2 and "nothing to export" in nothing.output
        report = runner.invoke(
            datarun, ["audit", "report", "subject", "--dir", str(out), "--json",
                      "--subject", "330102199001011234"],
        )  # fmt: skip
        assert report.exit_code == 0, report.output
        assert [r["seq"] for r in json.loads(report.stdout)] == [1, 2]
        unknown = runner.invoke(datarun, ["audit", "report", "nope", "--dir", str(out)])
        assert unknown.exit_code == 2 and "no report" in unknown.output
    finally:
        get_settings.cache_clear()
