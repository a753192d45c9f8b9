"""``datarun bindings set|list|show|check|describe|delete`` against the test hub's database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalogs.resources.models import Resource
from connectors.testing.sample import RESOURCE_CODE
from connectors.testing.sql import closed_port
from exchange.cli import app as cli
from exchange.core.settings import Settings, get_settings
from tests.bindings.conftest import body

runner = CliRunner()


@pytest.fixture
def hub_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings at the test database and data directory."""
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATARUN_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_set_list_show_check_describe_delete(
    hub_env: None, people_resource: Resource, department_db: Path, tmp_path: Path
) -> None:
    file = tmp_path / "binding.json"
    file.write_text(json.dumps({"resource": RESOURCE_CODE, **body(department_db)}))
    result = runner.invoke(cli, ["bindings", "set", str(file)])
    assert result.exit_code == 0, result.output
    assert f"created  {RESOURCE_CODE}  sql" in result.output

    result = runner.invoke(cli, ["bindings", "list"])
    assert result.exit_code == 0, result.output
    assert RESOURCE_CODE in result.output and "never checked" in result.output

    result = runner.invoke(cli, ["bindings", "check", RESOURCE_CODE])
    assert result.exit_code == 0, result.output
    assert "\tok\t" in result.output

    result = runner.invoke(cli, ["bindings", "describe", RESOURCE_CODE])
    assert result.exit_code == 0, result.output
    assert "sfzh\tVARCHAR(64)" in result.output

    result = runner.invoke(cli, ["bindings", "show", RESOURCE_CODE])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["config"]["url"] == "**********" and shown["last_check"]["ok"] is True
    assert str(department_db) not in result.output

    # What `show` prints goes back into `set` with the secret kept.
    file.write_text(
        json.dumps({"resource": RESOURCE_CODE, **body(department_db, config=shown["config"])})
    )
    result = runner.invoke(cli, ["bindings", "set", str(file)])
    assert result.exit_code == 0, result.output
    assert "replaced" in result.output

    result = runner.invoke(cli, ["bindings", "delete", RESOURCE_CODE])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["bindings", "show", RESOURCE_CODE])
    assert result.exit_code == 1 and "no connector binding" in result.output


def test_set_reports_problems_and_checks_fail_with_exit_1(
    hub_env: None, people_resource: Resource, department_db: Path, tmp_path: Path
) -> None:
    file = tmp_path / "binding.json"
    bad = body(department_db, columns={"id_number": "sfzh", "name": "xingming"})
    file.write_text(json.dumps([{"resource": RESOURCE_CODE, **bad}]))
    result = runner.invoke(cli, ["bindings", "set", str(file)])
    assert result.exit_code == 1
    assert "xingming" in result.output and "columns.name" in result.output

    down = {"url": f"mysql+pymysql://reader:pw@127.0.0.1:{closed_port()}/gat", "table": "rk"}
    file.write_text(json.dumps({"resource": RESOURCE_CODE, **body(department_db, config=down)}))
    result = runner.invoke(cli, ["bindings", "set", str(file)])
    assert result.exit_code == 1 and "verify=false" in result.output
    result = runner.invoke(cli, ["bindings", "set", str(file), "--no-verify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["bindings", "check", RESOURCE_CODE])
    assert result.exit_code == 1 and "FAILING" in result.output and "unreachable" in result.output

    file.write_text('{"resource": "x"}')
    result = runner.invoke(cli, ["bindings", "set", str(file)])
    assert result.exit_code == 1 and "not a binding file" in result.output
