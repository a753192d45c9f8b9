"""A database that does not answer is a 503 with Retry-After, not a 500.

While PostgreSQL restarts (or a SQLite file is locked past its busy timeout), every route
that touches the database fails with the driver's ``OperationalError`` (or
``InterfaceError`` for a connection that died under it). Those are outages, not bugs: the
caller gets ``503 application/problem+json`` with ``Retry-After`` and retries, the
operators' log gets one line naming the exception type and a reason (never its text,
which may quote a host or a statement's parameters), and the hub serves again as soon as
the database does: the pool reconnects (``pool_pre_ping`` on PostgreSQL), nothing needs a
restart.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from exchange.core.errors import problem
from exchange.observability.dberrors import describe_db_error

log = logging.getLogger("datarun.outage")

RETRY_AFTER_SECONDS = 2


def install_outage_handler(app: FastAPI) -> None:
    """Map database outages to 503 problem responses on ``app``."""

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", describe_db_error(exc))
        return problem(
            request,
            status=503,
            type_slug="database-unavailable",
            title="Service unavailable",
            detail="the hub's database is not answering; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    app.add_exception_handler(OperationalError, _outage)
    app.add_exception_handler(InterfaceError, _outage)
