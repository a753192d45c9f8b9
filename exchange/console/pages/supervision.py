"""Console pages: supervision."""

from __future__ import annotations

from fastapi import APIRouter

from exchange.console.render import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
