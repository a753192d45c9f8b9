"""``GET /metrics``: Prometheus text format, for loopback callers or with the metrics token.

Who may read: with ``metrics_token`` set, only a request with ``Authorization: Bearer
<token>`` (401 otherwise), from anywhere; without it, only a caller on the loopback
interface whose request was not forwarded by a reverse proxy (no ``Forwarded``,
``X-Forwarded-For`` or ``X-Real-IP``): 403 otherwise. Metrics hold no personal data, but
they describe the hub's traffic, sources and failures, which is nobody else's business.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from exchange.core.errors import Forbidden, Unauthorized
from exchange.observability.collectors import Combined, HubCollector, refresh_breakers

router = APIRouter(tags=["operations"])

_FORWARDED = (b"forwarded", b"x-forwarded-for", b"x-real-ip")
_EXAMPLE = (
    "# HELP datarun_http_requests_total HTTP requests answered, by method, route template "
    "and status\n# TYPE datarun_http_requests_total counter\n"
    'datarun_http_requests_total{method="POST",route="/v1/records/{code}/lookup",'
    'status="200"} 1027.0\n'
)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    headers = request.scope["headers"]
    return local and not any(name in _FORWARDED for name, _ in headers)


def _guard(request: Request) -> None:
    token = request.app.state.settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise Unauthorized("the metrics token is required", error="invalid_token")
        return
    if not _loopback(request):
        raise Forbidden(
            "metrics are served to loopback callers only; set DATARUN_METRICS_TOKEN "
            "to scrape from elsewhere"
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
        401: {"description": "the metrics token is set and was not sent"},
        403: {"description": "no token set, and the caller is not on loopback"},
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics of this hub (every worker process of it): requests, decisions,
    connectors and breakers, the access log, rate limits and the retry queue."""
    _guard(request)
    state = request.app.state
    refresh_breakers(state)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        source = Combined(registry, HubCollector(state))
    else:
        source = Combined(REGISTRY, HubCollector(state))
    return Response(generate_latest(source), media_type=CONTENT_TYPE_LATEST)
