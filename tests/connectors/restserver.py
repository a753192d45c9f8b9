"""A real department JSON API on loopback, with switchable faults, for the HTTP adapter's tests.

A small Starlette app served by uvicorn in a daemon thread on a free 127.0.0.1 port. It
serves the conformance sample (``connectors.testing.sample``) in three shapes:

- ``POST /api/people`` with ``{"ids": [...], "fields": [...]}`` → ``{"data": {"items": [...]}}``
- ``GET /api/people?ids=..&ids=..&fields=..`` → the same envelope
- ``GET /api/people/{key}?fields=..`` → ``{"data": {...}}`` or 404 (one key per call)
- ``GET /api/list?ids=..`` → a bare JSON list

``/always/<mode>/api/people`` is a source permanently in fault ``mode`` ("slow" sleeps
``SLOW_SECONDS``, "garbage" …), for configs that must reach a broken source.
``GET /redirect?to=<url>`` answers 307 to ``to``. Every request to ``/api`` is recorded in
``hits`` (method, path, query, headers, body), so tests count what reached the source.
``fault(...)`` switches a fault on for the next ``times`` requests (or for good): "slow",
"status" (any code, optional Retry-After), "garbage", "oversized" (with Content-Length),
"flood" (streamed, no Content-Length), "drop" (the connection
closes mid-body) and "extra" (ignores the field list and adds unrequested fields and records).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connectors.testing.sample import KEY_COLUMN, SAMPLE_ROWS

SLOW_SECONDS = 5.0


@dataclass(frozen=True)
class Hit:
    """One request that reached the API."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """What the API does wrong, for how many more requests (None: until reset)."""

    mode: str = "ok"
    delay: float = 0.0
    status: int = 500
    retry_after: str | None = None
    times: int | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass
class RestServer:
    """The loopback API and its controls."""

    port: int = 0
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    current: Fault = field(default_factory=Fault)
    stop: Callable[[], None] = lambda: None

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def fault(self, mode: str, *, times: int | None = None, **options: Any) -> None:
        """Switch a fault on (see the module docstring)."""
        self.current = Fault(mode=mode, times=times, **options)

    def reset(self) -> None:
        """Back to a healthy API with an empty request log."""
        self.current = Fault()
        self.hits.clear()

    def api_hits(self) -> int:
        """Return how many requests reached the API routes."""
        return len(self.hits)

    # --- the app ---------------------------------------------------------------------

    def _take_fault(self) -> Fault:
        fault = self.current
        if fault.times is not None:
            if fault.times <= 0:
                return Fault()
            fault.times -= 1
        return fault

    async def _serve(self, request: Request, keys: list[str], fields: list[str]) -> Response:
        fault = self._take_fault()
        if "mode" in request.path_params:  # /always/<mode>/...: a source that is always so
            fault = Fault(mode=request.path_params["mode"], delay=SLOW_SECONDS)
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.mode == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return JSONResponse({"error": "fault"}, status_code=fault.status, headers=headers)
        elif fault.mode == "garbage":
            return Response(b"<html>\x00\xff not json", media_type="application/json")
        elif fault.mode == "oversized":
            pad = "x" * (8 * 1_048_576)
            return JSONResponse({"data": {"items": [], "pad": pad}})
        elif fault.mode == "flood":  # no Content-Length: only counting the stream stops it
            return StreamingResponse(_flood(), media_type="application/json")
        elif fault.mode == "drop":
            return _Dropped()
        rows = [self.records[k] for k in keys if k in self.records]
        if fault.mode == "extra":
            rows = [*rows, *list(self.records.values())[:2]]
            rows = [{**r, "secret_note": "never requested"} for r in rows]
        elif fields:
            rows = [{f: r.get(f) for f in fields} for r in rows]
        if request.url.path.startswith("/api/people/"):
            if not rows:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse({"data": rows[0]})
        if request.url.path == "/api/list":
            return JSONResponse(rows)
        return JSONResponse({"code": 0, "data": {"items": rows}})

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.hits.append(
            Hit(
                request.method,
                request.scope["path"],  # percent-decoded, as the application sees it
                list(request.query_params.multi_items()),
                dict(request.headers),
                body,
            )
        )
        return body

    async def people(self, request: Request) -> Response:
        body = await self._record(request)
        if request.method == "POST":
            return await self._serve(request, body.get("ids", []), body.get("fields") or [])
        q = request.query_params
        return await self._serve(request, q.getlist("ids"), q.getlist("fields"))

    async def person(self, request: Request) -> Response:
        await self._record(request)
        key = request.path_params["key"]
        return await self._serve(request, [key], request.query_params.getlist("fields"))

    async def redirect(self, request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=307)

    def app(self) -> Starlette:
        """Build the ASGI app."""
        return Starlette(
            routes=[
                Route("/api/people", self.people, methods=["GET", "POST"]),
                Route("/api/people/{key:path}", self.person, methods=["GET"]),
                Route("/api/list", self.people, methods=["GET"]),
                Route("/always/{mode}/api/people", self.people, methods=["GET", "POST"]),
                Route("/redirect", self.redirect, methods=["GET", "POST"]),
            ]
        )


async def _flood() -> AsyncIterator[bytes]:
    yield b'{"data": {"items": [], "pad": "'
    for _ in range(256):  # 16 MiB at most
        yield b"x" * 65536
    yield b'"}}'


class _Dropped(Response):
    """Promise 1000 bytes, send 5, and let the server close the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"da', "more_body": False})


def start() -> RestServer:
    """Start the API on a free loopback port; ``server.stop()`` ends it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    records = {str(r[KEY_COLUMN]): {k: _jsonable(v) for k, v in r.items()} for r in SAMPLE_ROWS}
    server = RestServer(port=sock.getsockname()[1], records=records)
    config = uvicorn.Config(
        server.app(), log_level="critical", lifespan="off", timeout_graceful_shutdown=1
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the loopback REST server did not start")
        time.sleep(0.01)

    def stop() -> None:
        uv.should_exit = True
        thread.join(timeout=5)
        sock.close()

    server.stop = stop
    return server


@contextmanager
def running() -> Iterator[RestServer]:
    """Run the API on a free loopback port for the duration of the block."""
    server = start()
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    """Return a loopback port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
