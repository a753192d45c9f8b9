"""The console's routes under ``/console`` and its static files; ``install`` mounts both."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from exchange.console.pages import (
    audit,
    catalogue,
    connectors,
    grants,
    home,
    objections,
    onethings,
    signin,
)
from exchange.console.render import ConsoleRoute, error_page

STATIC = Path(__file__).with_name("static")
PAGES = {
    "home": home,
    "catalogue": catalogue,
    "onethings": onethings,
    "grants": grants,
    "connectors": connectors,
    "audit": audit,
    "objections": objections,
}


def _not_found(request: Request, rest: str) -> Response:
    """Answer an unknown console address with the console's own 404 page."""
    return error_page(request, 404)


def supervision_available() -> bool:
    """Return whether the supervision service exists (its page is mounted only then)."""
    return importlib.util.find_spec("exchange.supervision.service") is not None


def build_router() -> tuple[APIRouter, set[str]]:
    """Return the console's router and the sections it serves."""
    router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
    router.include_router(signin.router)
    sections = set(PAGES)
    for module in PAGES.values():
        router.include_router(module.router)
    if supervision_available():
        from exchange.console.pages import supervision

        router.include_router(supervision.router)
        sections.add("supervision")
    router.add_api_route("/{rest:path}", _not_found, methods=["GET"])
    return router, sections


def install(app: FastAPI) -> None:
    """Mount the console on ``app``: pages under /console, files under /console/static."""
    router, sections = build_router()
    app.state.console_sections = sections
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
