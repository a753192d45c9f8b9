"""The DCAT-AP export and the Table Schemas, read from the published catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalogs.dcat import repository
from catalogs.dcat.build import build_catalog
from catalogs.dcat.table_schema import build_table_schema
from exchange.core.db import utcnow
from exchange.core.errors import NotFound


def catalog_document(session: Session, *, base_url: str) -> dict[str, Any]:
    """Return the published catalogue as a DCAT-AP 3 JSON-LD document."""
    resources = repository.published_resources(session)
    return build_catalog(resources, base_url=base_url, now=utcnow())


def table_schema(session: Session, *, code: str) -> dict[str, Any]:
    """Return the Table Schema of the published resource ``code``; NotFound otherwise."""
    resource = repository.published_resource(session, code)
    if resource is None:
        raise NotFound(
            f"no published resource with code {code!r}",
            errors=[{"field": "code", "message": "not a published resource"}],
            message_key="refusal.catalogue.no_published_resource",
            message_params={"code": code},
        )
    return build_table_schema(resource)
