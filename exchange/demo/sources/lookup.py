"""Look records up through a stored binding, outside any request: the operator's view of a pull.

Not the hub's record API (that one checks grants and writes the access log first): this is
what ``datarun demo lookup`` uses to show that a binding reaches its department's data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from connectors import registry
from connectors.base import Binding, BindingInvalid, LookupResult, SourceUnavailable
from exchange.bindings import repository as bindings_repo
from exchange.bindings.service import connector_binding
from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.errors import InvalidInput, NotFound, ServiceUnavailable
from exchange.core.settings import Settings


def stored_binding(settings: Settings, code: str) -> Binding:
    """Return the connector binding stored for resource ``code`` (secrets decrypted)."""
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            row = bindings_repo.by_code(session, code)
            if row is None:
                raise NotFound(f"resource {code} has no connector binding")
            try:
                return connector_binding(row, settings)
            except BindingInvalid as exc:
                raise InvalidInput(str(exc), errors=exc.problems or None) from None
    finally:
        engine.dispose()


def lookup_records(
    settings: Settings, *, code: str, keys: Sequence[str], items: Sequence[str] | None = None
) -> LookupResult:
    """Return the records of ``keys`` with ``items`` (default: every mapped item)."""
    binding = stored_binding(settings, code)
    wanted = list(items or binding.columns)

    async def go() -> LookupResult:
        connector = registry.build(binding, max_rows=settings.connector_max_rows)
        try:
            return await connector.lookup(list(keys), wanted)
        finally:
            await connector.close()

    try:
        return asyncio.run(go())
    except BindingInvalid as exc:
        raise InvalidInput(str(exc), errors=exc.problems or None) from None
    except SourceUnavailable as exc:
        raise ServiceUnavailable(f"the source is unavailable ({exc.reason}): {exc}") from None


def lookup_through_binding(
    settings: Settings, *, code: str, keys: Sequence[str], items: Sequence[str] | None = None
) -> str:
    """Return the lookup's result as indented JSON (dates and decimals as strings)."""
    result = lookup_records(settings, code=code, keys=keys, items=items)
    document: dict[str, Any] = {"records": result.records, "missing": result.missing}
    if result.truncated:
        document["truncated"] = True
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)
