"""HTTP routes for catalogue import and export (目录导入导出)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from catalogs.resources.schemas import ResourceCreate, ShareType, Status, UpdateCycle
from catalogs.transfer import service
from catalogs.transfer.errors import UnsupportedMediaType
from catalogs.transfer.rules import detect_format
from catalogs.transfer.schemas import FileFormat, ImportMode, ImportSummary
from exchange.core.deps import AppSettings, DbSession
from exchange.core.errors import InvalidInput
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1/catalog", tags=["catalogue import and export"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a CSV sheet (one row per 信息项) or a JSON document {resources: [...]}, "
        "as the raw body or as the multipart field `file`",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "object"},
                # The export's JSON shape: {"resources": [<Resource JSON>, ...]}.
                "example": {"resources": ResourceCreate.model_json_schema()["examples"][:1]},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def _read_upload(request: Request, explicit: str | None) -> tuple[bytes, FileFormat]:
    """Return the uploaded file's bytes and format, from a raw body or a multipart field."""
    media_type = request.headers.get("content-type", "")
    filename: str | None = None
    if media_type.lower().startswith("multipart/form-data"):
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput(
                    "no file uploaded",
                    errors=[{"field": "file", "message": "send it as multipart field `file`"}],
                )
            content = await upload.read()
            filename, media_type = upload.filename, upload.content_type or ""
    else:
        content = await request.body()
    fmt = detect_format(explicit=explicit, filename=filename, media_type=media_type)
    if fmt is None:
        raise UnsupportedMediaType(
            f"cannot tell the file's format from {media_type or 'no content type'!r}: "
            "send text/csv or application/json, a .csv or .json file, or ?format=csv|json"
        )
    return content, cast(FileFormat, fmt)


@router.post("/import", openapi_extra=_UPLOAD_BODY)
async def import_catalog(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
    settings: AppSettings,
    mode: ImportMode = "upsert",
    dry_run: bool = False,
    fmt: Annotated[FileFormat | None, Query(alias="format", description="csv or json")] = None,
) -> ImportSummary:
    """Import entries from a CSV sheet or JSON file, all or nothing; dry_run only checks."""
    content, file_format = await _read_upload(request, fmt)
    return await run_in_threadpool(
        lambda: service.import_catalog(
            session,
            content=content,
            fmt=file_format,
            mode=mode,
            dry_run=dry_run,
            actor=principal,
            authz=authz,
            max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows,
        )
    )


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export_catalog(
    session: DbSession,
    principal: CurrentPrincipal,
    fmt: Annotated[FileFormat, Query(alias="format", description="json or csv")] = "json",
    q: Annotated[str | None, Query(max_length=200, description="text to find (中文 too)")] = None,
    provider: Annotated[str | None, Query(max_length=64, description="department code")] = None,
    share_type: ShareType | None = None,
    update_cycle: UpdateCycle | None = None,
    status: Status | None = None,
) -> Response:
    """Download the entries you can see as JSON or as a CSV sheet (one row per 信息项)."""
    export = service.export_catalog(
        session,
        fmt=fmt,
        principal=principal,
        q=q,
        provider=provider,
        share_type=share_type,
        update_cycle=update_cycle,
        status=status,
    )
    disposition = f'attachment; filename="{export.filename}"'
    return Response(
        export.content, media_type=export.media_type, headers={"Content-Disposition": disposition}
    )
