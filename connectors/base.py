"""The connector interface: how the hub reaches a department's own system.

A *binding* says where a catalogue resource's records live (a table or view, a file, an
endpoint), which source column holds the lookup key, and how source columns map to the
catalogue's 信息项 (data items). An *adapter* turns a binding into a ``Connector``.

Extension point: a department may ship its own adapter as a package exposing a
``Connector`` subclass under the entry-point group ``datarun.connectors``. It must pass
the conformance suite in ``connectors/testing/``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Record = dict[str, Any]  # catalogue item code → value


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class BindingInvalid(ConnectorError):
    """The binding or its config is wrong (e.g. maps an item to a column the source lacks).

    ``problems`` lists ``{"field": ..., "message": ...}`` entries for a 422 response.
    """

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class SourceUnavailable(ConnectorError):
    """The source could not answer: down, too slow, overloaded, garbage, or breaker open.

    ``reason`` is one of: "timeout", "unreachable", "error", "bad_response", "circuit_open",
    "overloaded", "rate_limited". ``transient`` says whether retrying may help.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        transient: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


class ConnectorConfig(BaseModel):
    """Base of every adapter's config model; secrets are ``SecretStr`` fields."""

    model_config = ConfigDict(extra="forbid")

    def local_paths(self) -> list[str]:
        """List the hub-local files or directories this config reads (checked against roots)."""
        return []


@dataclass(frozen=True)
class Binding:
    """Where a resource's records live and how its items map to source columns."""

    resource_code: str
    adapter: str
    config: ConnectorConfig
    key_item: str  # catalogue item code of the lookup key
    columns: Mapping[str, str]  # item code → source column (includes key_item)


@dataclass(frozen=True)
class SourceColumn:
    """One column (or field) the source offers, as ``describe()`` reports it."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class Health:
    """The result of ``check()``."""

    ok: bool
    latency_ms: float
    detail: str = ""


@dataclass(frozen=True)
class LookupResult:
    """Records found for the keys asked; keys with no record are listed in ``missing``.

    ``truncated`` is True when the source held more than ``max_rows`` matching records:
    ``records`` then holds the first ``max_rows`` of them and the caller must not treat the
    answer as complete.
    """

    records: list[Record]
    missing: list[str] = field(default_factory=list)
    truncated: bool = False


class Connector(ABC):
    """Reads records of one bound resource from a department's system.

    Contract every adapter honours (the conformance suite checks it):
    - ``lookup`` returns only the requested items (plus the key item); projection happens
      at the source, so unrequested columns are never read;
    - a batch of keys is one request to the source, not one per key;
    - key values travel as bound parameters, never spliced into a query or URL path;
      column names come only from the binding;
    - failures to reach the source raise ``SourceUnavailable``, never hang;
    - blocking drivers run in a thread pool, never on the event loop.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]

    def __init__(self, binding: Binding, *, max_rows: int = 1000) -> None:
        self.binding = binding
        self.max_rows = max_rows

    @abstractmethod
    async def lookup(self, keys: Sequence[str], items: Sequence[str]) -> LookupResult:
        """Return the records whose key is in ``keys``, with only ``items`` projected."""

    @abstractmethod
    async def check(self) -> Health:
        """Report whether the source answers."""

    @abstractmethod
    async def describe(self) -> list[SourceColumn]:
        """List the source's columns, to help an administrator map them."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release pooled connections or clients."""

    def projection(self, items: Sequence[str]) -> dict[str, str]:
        """Map the key item and ``items`` to source columns; raise BindingInvalid if unmapped."""
        wanted = [self.binding.key_item, *(i for i in items if i != self.binding.key_item)]
        unmapped = [i for i in dict.fromkeys(wanted) if i not in self.binding.columns]
        if unmapped:
            raise BindingInvalid(
                f"items not mapped by the binding of {self.binding.resource_code}: "
                + ", ".join(unmapped),
                [
                    {"field": f"items.{i}", "message": "not mapped to a source column"}
                    for i in unmapped
                ],
            )
        return {i: self.binding.columns[i] for i in dict.fromkeys(wanted)}
