"""``datarun catalog import|export`` against the test hub's database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from exchange.cli import app as cli
from exchange.core.settings import Settings, get_settings
from tests.catalogs.test_transfer_api import clear_catalogue, resource_count, seed_catalogue
from tests.catalogs.test_transfer_format import row, sheet

runner = CliRunner()


@pytest.fixture
def hub_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings at the test database."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_export_then_import_into_an_empty_catalogue(
    hub_env: None, db: Session, tmp_path: Path
) -> None:
    seed_catalogue(db)
    sheet_file, json_file = tmp_path / "目录.csv", tmp_path / "catalog.json"
    result = runner.invoke(cli, ["catalog", "export", "--out", str(sheet_file)])
    assert result.exit_code == 0, result.output
    assert "exported 3 resources" in result.output
    assert sheet_file.read_bytes().startswith(b"\xef\xbb\xbf")
    result = runner.invoke(cli, ["catalog", "export", "--format", "json"])
    assert result.exit_code == 0, result.output
    json_file.write_bytes(result.stdout_bytes)
    assert len(json.loads(result.stdout)["resources"]) == 3

    clear_catalogue(db)
    result = runner.invoke(cli, ["catalog", "import", str(sheet_file)])
    assert result.exit_code == 0, result.output
    assert "created   301001001/000001  居民户籍信息" in result.output
    assert "imported: 3 created, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(cli, ["catalog", "export"])
    assert result.stdout_bytes == json_file.read_bytes()

    result = runner.invoke(cli, ["catalog", "import", str(json_file), "--mode", "upsert"])
    assert "imported: 0 created, 0 updated, 3 unchanged" in result.output


def test_failed_import_prints_the_error_table_and_writes_nothing(
    hub_env: None, db: Session, tmp_path: Path
) -> None:
    seed_catalogue(db)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        sheet(
            row(资源代码="301001001/000009"),
            row(
                资源代码="301001001/000009",
                信息项代码="born",
                信息项名称="出生",
                数据类型="日期格式",
            ),
            row(资源代码="302001/000009", 提供方代码="zj-nowhere"),
        )
    )
    result = runner.invoke(cli, ["catalog", "import", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 2 errors in the file; nothing was imported"
    assert lines[1].split() == ["line", "field", "message"]
    assert lines[2].split()[:2] == ["3", "数据类型"]
    assert lines[3].split()[:2] == ["4", "提供方代码"]
    assert resource_count(db) == 3


def test_dry_run_and_create_only_from_the_shell(hub_env: None, db: Session, tmp_path: Path) -> None:
    seed_catalogue(db)
    new = tmp_path / "new.csv"
    new.write_bytes(sheet(row(资源代码="301001001/000009")))
    result = runner.invoke(cli, ["catalog", "import", str(new), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would be created   301001001/000009  居民户籍信息" in result.output
    assert "dry run, nothing written: 1 created" in result.output
    assert resource_count(db) == 3

    existing = tmp_path / "existing.csv"
    existing.write_bytes(sheet(row()))
    result = runner.invoke(cli, ["catalog", "import", str(existing), "--mode", "create-only"])
    assert result.exit_code == 1
    assert "already exists (mode create-only)" in result.stderr

    other = tmp_path / "catalog.xlsx"
    other.write_bytes(b"PK")
    assert runner.invoke(cli, ["catalog", "import", str(other)]).exit_code == 2
