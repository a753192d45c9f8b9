"""The machinery of the conformance suite: hooks, capabilities, the sample fixture, ``run``.

``suite.ConnectorConformance`` adds the tests; see its docstring for how to subclass it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from pydantic import SecretStr

from connectors.base import Binding, Connector, ConnectorConfig, LookupResult
from connectors.testing.sample import COLUMNS, KEY_ITEM, RESOURCE_CODE

T = TypeVar("T")
CAPABILITIES = frozenset(
    {"describe", "typed", "query_count", "sql_projection", "timeout", "down", "garbage"}
)
ALL_ITEMS = tuple(COLUMNS)


def secret_values(config: ConnectorConfig) -> list[str]:
    """Return every secret value held in ``config`` (nested models and dicts included)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(config.model_dump())
    return [s for s in found if s]


def select_list(statement: str) -> set[str]:
    """Return the identifiers in the SELECT list of ``statement``."""
    match = re.search(r"\bSELECT\b(.*?)\bFROM\b", statement, re.IGNORECASE | re.DOTALL)
    assert match, f"not a SELECT statement: {statement!r}"
    return set(re.findall(r"[^\W\d]\w*", match.group(1)))


class ConnectorHarness:
    """Hooks and helpers of the conformance suite (the tests are in ``suite``)."""

    adapter: ClassVar[type[Connector]]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    capability_notes: ClassVar[dict[str, str]] = {}  # capability → why it is lacking
    timeout_seconds: ClassVar[float] = 1.0  # deadline the slow-source test configures
    down_deadline_seconds: ClassVar[float] = 10.0  # a down source must be reported by then

    # ---- hooks ---------------------------------------------------------------------------

    def load_sample(self, workdir: Path) -> Any:
        """Put ``SAMPLE_ROWS`` in the backend once per class; return a handle for the hooks."""
        raise NotImplementedError

    def unload_sample(self, handle: Any) -> None:
        """Remove what ``load_sample`` created (tables, schemas); files in workdir go anyway."""

    def sample_config(self, handle: Any) -> ConnectorConfig:
        """Return a config reaching the loaded sample."""
        raise NotImplementedError

    def slow_config(self, handle: Any) -> ConnectorConfig:
        """Return a config reaching the sample through a source slower than the timeout."""
        raise NotImplementedError

    def down_config(self, handle: Any) -> ConnectorConfig:
        """Return a config reaching a source that is down."""
        raise NotImplementedError

    def garbage_config(self, handle: Any) -> ConnectorConfig:
        """Return a config reaching a source that answers garbage."""
        raise NotImplementedError

    def open_connector(self, binding: Binding, *, max_rows: int) -> Connector:
        """Build the connector under test (override to instrument or wrap it)."""
        return self.adapter(binding, max_rows=max_rows)

    def queries_issued(self, connector: Connector) -> list[str]:
        """Return the queries (or requests) ``connector`` has sent to its source so far."""
        raise NotImplementedError

    # ---- machinery -----------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def sample_handle(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        """Load the sample into the backend once for the class."""
        hooks = cls()  # hooks keep no state between tests: what they need is in the handle
        handle = hooks.load_sample(tmp_path_factory.mktemp(cls.__name__.lower()))
        yield handle
        hooks.unload_sample(handle)

    def require(self, capability: str) -> None:
        """Skip the running test, visibly, unless the adapter declares ``capability``."""
        assert capability in CAPABILITIES, f"unknown capability {capability}"
        if capability not in self.capabilities:
            note = self.capability_notes.get(capability)
            pytest.skip(f"adapter lacks capability {capability}" + (f": {note}" if note else ""))

    def binding(self, config: ConnectorConfig) -> Binding:
        """Bind the sample resource's items to the canonical source columns."""
        return Binding(
            resource_code=RESOURCE_CODE,
            adapter=self.adapter.name,
            config=config,
            key_item=KEY_ITEM,
            columns=dict(COLUMNS),
        )

    def run(
        self,
        config: ConnectorConfig,
        scenario: Callable[[Connector], Awaitable[T]],
        *,
        max_rows: int = 1000,
    ) -> T:
        """Open a connector on ``config``, run ``scenario`` with it in one loop, close it."""

        async def main() -> T:
            connector = self.open_connector(self.binding(config), max_rows=max_rows)
            try:
                return await scenario(connector)
            finally:
                await connector.close()

        return asyncio.run(main())

    def lookup(
        self, handle: Any, keys: list[str], items: tuple[str, ...] = ALL_ITEMS
    ) -> LookupResult:
        """Look ``keys`` up in the sample with a fresh connector."""

        async def scenario(c: Connector) -> LookupResult:
            return await c.lookup(keys, list(items))

        return self.run(self.sample_config(handle), scenario)
