"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from exchange.health.checks import CHECKS, NotReady

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the hub can serve, and what each check found."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "database": "ok",
                        "schema": "0006",
                        "audit_log": "ok",
                        "checkpoints": "ok",
                    },
                    "failed": [],
                },
                {
                    "status": "unavailable",
                    "checks": {
                        "database": "OperationalError: connection refused",
                        "audit_log": "ok",
                        "checkpoints": "ok",
                    },
                    "failed": ["database"],
                },
            ]
        }
    )

    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(
        description="check → result: database (the schema revision moves to `schema`), "
        "audit_log, checkpoints; a failed check says why",
        examples=[{"database": "ok", "schema": "0006", "audit_log": "ok", "checkpoints": "ok"}],
    )
    failed: list[str] = Field(default_factory=list, description="the checks that failed")


@router.get("/healthz", response_model=Liveness)
def healthz() -> dict[str, str]:
    """Report that the process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a check failed; `failed` names it"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Report whether the hub can serve: its database answers and is migrated, its access
    log's store answers and its checkpoint directory is writable (503 naming what failed)."""
    state = request.app.state
    timeout = state.settings.ready_timeout_seconds
    names = list(CHECKS)
    results = await asyncio.gather(*(_run(name, state, timeout) for name in names))
    checks: dict[str, str] = {}
    failed: list[str] = []
    for name, (ok, detail) in zip(names, results, strict=True):
        if not ok:
            failed.append(name)
            checks[name] = detail
        elif name == "database":
            checks["database"], checks["schema"] = "ok", detail
        else:
            checks[name] = detail
    report = Readiness(status="unavailable" if failed else "ready", checks=checks, failed=failed)
    return JSONResponse(report.model_dump(), status_code=503 if failed else 200)


async def _run(name: str, state: object, timeout: float) -> tuple[bool, str]:
    try:
        return True, await asyncio.wait_for(asyncio.to_thread(CHECKS[name], state), timeout)
    except NotReady as exc:
        return False, f"error: {exc}"
    except TimeoutError:
        return False, f"error: no answer within {timeout:g} s"
    except Exception as exc:
        return False, f"error: {type(exc).__name__}"
