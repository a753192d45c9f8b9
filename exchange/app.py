"""The hub's app factory: settings, database, middleware, error handler and routers."""

from __future__ import annotations

from fastapi import FastAPI

from catalogs.router import router as catalogs_router
from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.errors import install_error_handlers
from exchange.core.logs import configure_logging
from exchange.core.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from exchange.core.settings import Settings, get_settings
from exchange.health.router import router as health_router
from exchange.identity.authz import Authorizer
from exchange.identity.keys import KeyRing
from exchange.identity.router import router as identity_router
from exchange.supply.checks import HubSupplyChecks

API_DESCRIPTION = """\
DataRun, the provincial public-data sharing exchange: 让数据多跑路，群众少跑腿.

Department systems authenticate with OAuth2 client credentials (`private_key_jwt`,
RFC 7523) at `/oauth/token` and call the API with the bearer token. Every error is an
RFC 9457 `application/problem+json` document.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the hub application for ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="DataRun hub", version="0.1.0", description=API_DESCRIPTION)
    app.state.settings = settings
    app.state.engine = make_engine(settings.effective_database_url)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.keyring = KeyRing(app.state.sessionmaker, settings)
    app.state.authorizer = Authorizer(app.state.sessionmaker)
    # A factory taking the request's session; catalogs see it only as SupplyChecks.
    app.state.supply_checks = HubSupplyChecks

    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)

    app.include_router(health_router)
    app.include_router(identity_router)
    app.include_router(catalogs_router)
    return app
