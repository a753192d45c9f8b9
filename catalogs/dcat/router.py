"""Public DCAT-AP 3 export of the published catalogue and each resource's Table Schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from catalogs.dcat import service
from exchange.core.deps import AppSettings, DbSession

router = APIRouter(tags=["dcat"])


class JSONLDResponse(JSONResponse):
    """A JSON-LD document (``application/ld+json``)."""

    media_type = "application/ld+json"


@router.get("/catalog.jsonld", response_class=JSONLDResponse)
def catalog_jsonld(session: DbSession, settings: AppSettings) -> JSONLDResponse:
    """Publish the catalogue as DCAT-AP 3.0.1 JSON-LD (inline @context; public)."""
    document = service.catalog_document(session, base_url=settings.issuer)
    return JSONLDResponse(document)


@router.get("/catalog/table-schemas/{code:path}")
def table_schema(code: str, session: DbSession) -> dict[str, Any]:
    """Return a published resource's data items as a Frictionless Table Schema (public)."""
    return service.table_schema(session, code=code)
