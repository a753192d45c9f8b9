"""The hub's app factory: settings, database, middleware, error handler and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from catalogs.router import router as catalogs_router
from exchange.applications import retry as applications_retry
from exchange.applications.router import router as applications_router
from exchange.applications.service import CaseOwners
from exchange.applications.tasks_router import router as tasks_router
from exchange.audit.log import AuditLog
from exchange.audit.router import router as audit_router
from exchange.bindings.pool import ConnectorPool
from exchange.bindings.router import router as bindings_router
from exchange.console.router import install as install_console
from exchange.core import heap
from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.errors import install_error_handlers
from exchange.core.inputs import refuse_nul
from exchange.core.logs import configure_logging
from exchange.core.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from exchange.core.settings import Settings, get_settings
from exchange.grants.engine import GrantPolicy
from exchange.grants.router import router as grants_router
from exchange.health.outage import install_outage_handler
from exchange.health.router import router as health_router
from exchange.identity.authz import Authorizer
from exchange.identity.keys import KeyRing
from exchange.identity.router import router as identity_router
from exchange.identity.token_cache import VerifiedTokens
from exchange.limits.buckets import RateLimiter
from exchange.limits.middleware import RateLimitMiddleware
from exchange.limits.token import TokenRateLimit
from exchange.objections.router import router as objections_router
from exchange.observability.audit import metered
from exchange.observability.metrics import observe_request, process_exit
from exchange.observability.router import router as metrics_router
from exchange.records.audited import audit_oversized_body
from exchange.records.router import router as records_router
from exchange.records.shortcut import RecordsShortcut
from exchange.supervision.router import router as supervision_router
from exchange.supply.checks import HubSupplyChecks
from exchange.sweeps import scheduler as sweeps
from exchange.tracker.router import router as tracker_router

API_DESCRIPTION = """\
DataRun, the provincial public-data sharing exchange: 让数据多跑路，群众少跑腿.

Department systems authenticate with OAuth2 client credentials (`private_key_jwt`,
RFC 7523) at `/oauth/token` and call the API with the bearer token. Every error is an
RFC 9457 `application/problem+json` document.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # A running hub keeps its grant policy fresh: watcher (NOTIFY/Redis) plus version poll.
    app.state.grant_policy.start()
    settings = app.state.settings
    background = []
    # Unavailable materials of applications are retried in the background (0: no poller).
    if settings.application_retry_poll_seconds > 0:
        background.append(asyncio.create_task(applications_retry.poll(app)))
    # The grants and objections sweeps, every sweep_interval_seconds (0: none here).
    if settings.sweep_interval_seconds > 0:
        background.append(asyncio.create_task(sweeps.poll(app)))
    if settings.gc_tuning:  # what startup built, out of the collector's way (p99 latency)
        heap.settle(settings.gc_gen0_threshold)
    try:
        yield
    finally:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.state.grant_policy.close()
        await app.state.connector_pool.close()
        app.state.audit.close()
        await app.state.rate_limiter.close()
        await app.state.token_rate_limit.close()
        process_exit()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the hub application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="DataRun hub",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=_lifespan,
        # The hub's metrics are Prometheus' (/metrics); FastAPI's own OpenTelemetry hooks,
        # asked on every request whether a provider is configured, stay off.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.effective_database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.keyring = KeyRing(app.state.sessionmaker, settings)
    app.state.authorizer = Authorizer(app.state.sessionmaker)
    app.state.verified_tokens = VerifiedTokens(app.state.keyring)
    # casbin over the approved grants: app.state.grant_policy.decide(...) (exchange/grants).
    app.state.grant_policy = GrantPolicy(app.state.engine, settings)
    # Live connectors, one per enabled binding: await app.state.connector_pool.get(code).
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, settings)
    # The access log: app.state.audit.append(AuditRecord) commits before data leaves.
    app.state.audit = AuditLog(settings.effective_database_url, settings)
    # …wrapped for the metrics (decisions by outcome, append latency); still an AuditLog.
    app.state.audit = metered(app.state.audit)
    # Per-system token buckets (in this process, or shared through Redis): 429 beyond them.
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    # …and /oauth/token's own, by the client id a request names (or its address).
    app.state.token_rate_limit = TokenRateLimit.from_settings(settings, app.state.sessionmaker)
    # A factory taking the request's session; catalogs see it only as SupplyChecks.
    app.state.supply_checks = HubSupplyChecks
    # Whose case an application number is (its window department): pulls naming another
    # department's case are refused (exchange/records/cases.py).
    app.state.case_owner = CaseOwners(app.state.sessionmaker)

    install_error_handlers(app)
    install_outage_handler(app)  # database down: 503 with Retry-After, not 500
    # Every route: U+0000 in a parameter or body is a 422, never sent to the database.
    app.router.dependencies.append(Depends(refuse_nul))
    # Innermost: a record pull goes straight to its route once routing has shown which it is.
    app.add_middleware(RecordsShortcut)
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, on_reject=audit_oversized_body
    )
    app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
    app.add_middleware(RequestIdMiddleware, observe=observe_request)

    # Record pulls first: the hottest routes, matched before the catalogue's many others.
    app.include_router(records_router)
    app.include_router(applications_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(identity_router)
    app.include_router(catalogs_router)
    app.include_router(grants_router)
    app.include_router(bindings_router)
    app.include_router(audit_router)
    app.include_router(objections_router)
    app.include_router(tracker_router)
    # The console: people's web pages under /console (its catch-all 404 stays in /console).
    install_console(app)
    app.include_router(tasks_router)
    app.include_router(supervision_router)
    return app
