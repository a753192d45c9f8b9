"""Which adapters exist: the built-in ones by name, plus the ``datarun.connectors`` entry points.

A department ships its own adapter as a package declaring, in its ``pyproject.toml``::

    [project.entry-points."datarun.connectors"]
    dm8 = "zj_dept_connector:Dm8Connector"     # a Connector subclass

An entry point that fails to import, is not a ``Connector`` subclass or reuses a built-in
name is logged and skipped; the hub starts with the others.
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from connectors.base import Binding, Connector, ConnectorConfig, ConnectorError

log = logging.getLogger("datarun.connectors.registry")

ENTRY_POINT_GROUP = "datarun.connectors"

# name → "module:Class", imported on first use so a broken optional driver hurts only its own.
BUILTIN: dict[str, str] = {
    "sql": "connectors.adapters.sql:SqlConnector",
    "duckdb": "connectors.adapters.duckdb_files:DuckDbConnector",
    "http": "connectors.adapters.http:HttpConnector",
}


class UnknownAdapter(ConnectorError, LookupError):
    """No adapter is registered under the name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no connector adapter named {name!r} (known: {', '.join(known)})")
        self.name = name
        self.known = known


def _load_builtin(target: str) -> type[Connector]:
    module, _, attribute = target.partition(":")
    adapter: type[Connector] = getattr(importlib.import_module(module), attribute)
    return adapter


def _valid(name: str, adapter: Any) -> bool:
    return (
        isinstance(adapter, type)
        and issubclass(adapter, Connector)
        and issubclass(getattr(adapter, "config_model", None) or object, ConnectorConfig)
    )


@lru_cache(maxsize=1)
def _adapters() -> dict[str, type[Connector]]:
    found: dict[str, type[Connector]] = {}
    for name, target in BUILTIN.items():
        try:
            found[name] = _load_builtin(target)
        except Exception:
            log.exception("built-in connector adapter %r failed to load; skipped", name)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN:
            log.error(
                "entry point %r (%s) reuses a built-in adapter name; skipped", ep.name, ep.value
            )
            continue
        try:
            adapter = ep.load()
        except Exception:
            log.exception("connector adapter %r (%s) failed to load; skipped", ep.name, ep.value)
            continue
        if not _valid(ep.name, adapter):
            log.error(
                "entry point %r (%s) is not a Connector subclass with a ConnectorConfig "
                "config_model; skipped",
                ep.name,
                ep.value,
            )
            continue
        found[ep.name] = adapter
    return found


def available() -> list[str]:
    """Return the names of every adapter that loaded, sorted."""
    return sorted(_adapters())


def get_adapter(name: str) -> type[Connector]:
    """Return the adapter registered as ``name``; raise ``UnknownAdapter`` if there is none."""
    adapters = _adapters()
    if name not in adapters:
        raise UnknownAdapter(name, sorted(adapters))
    return adapters[name]


def parse_config(
    name: str, raw: dict[str, Any], *, context: dict[str, Any] | None = None
) -> ConnectorConfig:
    """Validate ``raw`` against the adapter's config model (pydantic ValidationError if bad).

    ``context`` reaches the model's validators (the hub passes e.g. its HTTP allowlist).
    """
    return get_adapter(name).config_model.model_validate(raw, context=context)


def build(binding: Binding, *, max_rows: int = 1000) -> Connector:
    """Return a connector for ``binding`` from its adapter."""
    return get_adapter(binding.adapter)(binding, max_rows=max_rows)


def reload() -> None:
    """Forget the loaded adapters so the next call scans entry points again (tests, plugins)."""
    _adapters.cache_clear()
