"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Report that the process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, object]:
    """Report whether the hub can serve: its database answers and is migrated."""
    try:
        with request.app.state.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any failure means not ready
        return JSONResponse(
            {"status": "unavailable", "checks": {"database": f"error: {type(exc).__name__}"}},
            status_code=503,
        )
    return {"status": "ready", "checks": {"database": "ok", "schema": version}}
