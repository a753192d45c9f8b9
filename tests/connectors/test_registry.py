"""The adapter registry: built-ins by name, department adapters through entry points."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator, Sequence
from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest

from connectors import registry
from connectors.adapters.duckdb_files import DuckDbConnector
from connectors.adapters.sql import SqlConnector
from connectors.base import Connector, ConnectorConfig, Health, LookupResult, SourceColumn


class PlainConfig(ConnectorConfig):
    endpoint: str


class DepartmentConnector(Connector):
    """What a department's own package would ship."""

    name: ClassVar[str] = "dept"
    config_model: ClassVar[type[ConnectorConfig]] = PlainConfig

    async def lookup(self, keys: Sequence[str], items: Sequence[str]) -> LookupResult:
        return LookupResult(records=[], missing=list(keys))

    async def check(self) -> Health:
        return Health(ok=True, latency_ms=0.0)

    async def describe(self) -> list[SourceColumn]:
        return []


@pytest.fixture
def department_package(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Install a fake module the way an installed department package would provide one."""
    module = types.ModuleType("zj_dept_connector")
    module.DepartmentConnector = DepartmentConnector  # type: ignore[attr-defined]
    module.NotAConnector = dict  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zj_dept_connector", module)
    registry.reload()
    yield
    registry.reload()


def _entry_points(*specs: tuple[str, str]) -> Any:
    def fake(*, group: str) -> list[EntryPoint]:
        assert group == "datarun.connectors"
        return [EntryPoint(name=n, value=v, group=group) for n, v in specs]

    return fake


def test_builtins_are_available() -> None:
    registry.reload()
    assert {"sql", "duckdb"} <= set(registry.available())
    assert registry.get_adapter("sql") is SqlConnector
    assert registry.get_adapter("duckdb") is DuckDbConnector


def test_unknown_adapter_names_the_known_ones() -> None:
    with pytest.raises(registry.UnknownAdapter, match=r"known: .*sql"):
        registry.get_adapter("oracle")


def test_entry_point_adapter_is_registered(
    monkeypatch: pytest.MonkeyPatch, department_package: None
) -> None:
    monkeypatch.setattr(
        registry, "entry_points", _entry_points(("dept", "zj_dept_connector:DepartmentConnector"))
    )
    registry.reload()
    assert "dept" in registry.available()
    assert registry.get_adapter("dept") is DepartmentConnector
    config = registry.parse_config("dept", {"endpoint": "x"})
    assert isinstance(config, PlainConfig)


def test_broken_entry_points_are_logged_and_skipped(
    monkeypatch: pytest.MonkeyPatch, department_package: None, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        registry,
        "entry_points",
        _entry_points(
            ("missing", "zj_no_such_package:Connector"),
            ("wrongtype", "zj_dept_connector:NotAConnector"),
            ("sql", "zj_dept_connector:DepartmentConnector"),  # may not shadow a built-in
            ("dept", "zj_dept_connector:DepartmentConnector"),
        ),
    )
    registry.reload()
    with caplog.at_level(logging.ERROR, logger="datarun.connectors.registry"):
        names = registry.available()
    assert "dept" in names and "missing" not in names and "wrongtype" not in names
    assert registry.get_adapter("sql") is SqlConnector
    logged = caplog.text
    assert "'missing'" in logged and "failed to load" in logged
    assert "'wrongtype'" in logged and "not a Connector subclass" in logged
    assert "reuses a built-in" in logged
