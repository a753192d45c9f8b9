"""What a pull needs to know of the catalogue, read once and trusted for a few seconds.

A pull checks the entry (published? shareable? its items, their types and sensitivity, the
key item) and the purpose. Reading them per request would cost a session and several
queries; instead each entry and purpose is cached for ``records_catalogue_ttl_seconds``
(default 2 s, like the connector pool's own refresh): a change made anywhere applies to
pulls within that time. Reads run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from exchange.core.errors import ServiceUnavailable
from exchange.records import repository
from exchange.records.masking import mask_kind
from exchange.records.rules import key_kind

T = TypeVar("T")
_MAX_ENTRIES = 4096  # unknown codes are cached too; a flood of them must not grow memory


@dataclass(frozen=True)
class ItemView:
    """One 信息项 as a pull sees it."""

    code: str
    name: str
    data_type: str
    sensitivity: int
    mask_kind: str


@dataclass(frozen=True)
class ResourceView:
    """One catalogue entry as a pull sees it."""

    code: str
    name: str
    version: str
    status: str
    share_type: str
    legal_basis: str | None
    update_cycle: str
    provider: str
    provider_name: str
    items: Mapping[str, ItemView]
    key_item: str | None  # the binding's key item, else the entry's only key item
    key_kind: str  # how keys are checked (rules.key_kind)


def resource_view(session: Session, code: str) -> ResourceView | None:
    """Read one entry and its binding's key item."""
    row = repository.resource_by_code(session, code)
    if row is None:
        return None
    items = {
        i.code: ItemView(
            code=i.code,
            name=i.name,
            data_type=i.data_type,
            sensitivity=i.sensitivity,
            mask_kind=mask_kind(i.code, i.name, i.data_type),
        )
        for i in row.items
    }
    key_item = repository.binding_key_item(session, row.id)
    if key_item is None:
        keys = [i.code for i in row.items if i.is_key]
        key_item = keys[0] if len(keys) == 1 else None
    key = items.get(key_item or "")
    return ResourceView(
        code=row.code,
        name=row.name,
        version=row.version,
        status=row.status,
        share_type=row.share_type,
        legal_basis=row.legal_basis,
        update_cycle=row.update_cycle,
        provider=row.provider.code,
        provider_name=row.provider.name,
        items=items,
        key_item=key_item,
        key_kind=key_kind(key.code, key.name, key.data_type) if key else "text",
    )


class CatalogueCache:
    """Entries and purposes by code, each trusted for ``ttl`` seconds.

    One read per code at a time: concurrent pulls of a code nobody has read yet wait for
    the same read, and once a value is older than ``ttl`` the next pull starts a fresh read
    in the background and is answered with the previous value meanwhile.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._ttl = ttl
        self._clock = clock
        self._resources: dict[str, tuple[float, ResourceView | None]] = {}
        self._purposes: dict[str, tuple[float, bool]] = {}
        self._reads: dict[tuple[str, str], asyncio.Future[Any]] = {}

    async def resource(self, code: str) -> ResourceView | None:
        """Return the entry with ``code``, or None if the catalogue has none."""
        return await self._get("resource", self._resources, code, resource_view)

    async def purpose_known(self, code: str) -> bool:
        """Return whether ``code`` is a service item or a one-thing."""
        return await self._get("purpose", self._purposes, code, repository.purpose_exists)

    def invalidate(self) -> None:
        """Forget everything (the next pulls read the catalogue again)."""
        self._resources = {}
        self._purposes = {}

    async def _get(
        self,
        kind: str,
        cache: dict[str, tuple[float, T]],
        code: str,
        read: Callable[[Session, str], T],
    ) -> T:
        hit = cache.get(code)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        pending = self._reads.get((kind, code))
        if pending is None:
            pending = self._start(kind, cache, code, read)
        if hit is not None:
            return hit[1]  # stale for at most one read's time
        result: T = await asyncio.shield(pending)
        return result

    def _start(
        self,
        kind: str,
        cache: dict[str, tuple[float, T]],
        code: str,
        read: Callable[[Session, str], T],
    ) -> asyncio.Future[Any]:
        def load() -> T:
            try:
                with self._factory() as session:
                    return read(session, code)
            except SQLAlchemyError as exc:
                raise ServiceUnavailable("the hub's catalogue cannot be read") from exc

        async def run() -> T:
            try:
                value = await asyncio.to_thread(load)
                if len(cache) >= _MAX_ENTRIES:
                    cache.clear()
                cache[code] = (self._clock(), value)
                return value
            finally:
                self._reads.pop((kind, code), None)

        task = asyncio.ensure_future(run())
        self._reads[(kind, code)] = task
        # A failed background refresh is retried by the next pull; don't log it as lost.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task
