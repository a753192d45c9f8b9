"""The HTTP adapter's benchmark target: a department JSON API in its own process on loopback.

The API runs in a subprocess (uvicorn, one worker) so that serving does not compete with
the measured client for the GIL. *adapter* is ``HttpConnector.lookup`` (async httpx, JSON
parsed with Decimal, field projection and typing, the exact-key filter); *direct* is the
same POST through a bare synchronous ``httpx.Client`` with the body parsed by ``.json()``.

Run alone to serve: ``python -m benchmarks.http_target <people.json> <port>``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from connectors.adapters.http import HttpConfig
from connectors.testing.sample import SAMPLE_COLUMNS

if TYPE_CHECKING:
    from benchmarks.bench_connectors import Target

NAMES = [c.column for c in SAMPLE_COLUMNS]
TYPES = {"csrq": "date", "djsj": "datetime", "nsr": "decimal", "hrs": "integer"}
FIELDS = ["sfzh", "xm", "csrq", "nsr"]  # the bench's key + three projected items


def http_target(workdir: Path, rows: list[tuple[Any, ...]]) -> Target | None:
    """A department JSON API through the http adapter, and through a bare httpx client."""
    from benchmarks.bench_connectors import Target  # here: that module imports this one

    data = workdir / "people.json"
    data.write_text(json.dumps([dict(zip(NAMES, r, strict=True)) for r in rows], default=str))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.http_target", str(data), str(port)]
    )
    url = f"http://127.0.0.1:{port}/api/people"
    client = httpx.Client(timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.get(f"http://127.0.0.1:{port}/health").raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the benchmark's department API did not start") from None
            time.sleep(0.1)
    config = HttpConfig.model_validate(
        {
            "url": url,
            "key_param": "ids",
            "fields_param": "fields",
            "records_path": "data.items",
            "field_types": TYPES,
        },
        context={"http_allowlist": [f"127.0.0.1:{port}"]},
    )

    def direct(keys: list[str]) -> list[Any]:
        body = client.post(url, json={"ids": keys, "fields": FIELDS}).json()
        return list(body["data"]["items"])

    def close() -> None:
        client.close()
        server.terminate()
        server.wait(timeout=10)

    return Target("http (department API)", "http", config, direct, close)


def _serve(data: Path, port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    people = {p["sfzh"]: p for p in json.loads(data.read_text())}

    async def lookup(request: Request) -> JSONResponse:
        body = await request.json()
        fields = body.get("fields") or NAMES
        found = [people[k] for k in body.get("ids", []) if k in people]
        return JSONResponse({"data": {"items": [{f: p[f] for f in fields} for p in found]}})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/api/people", lookup, methods=["POST"]), Route("/health", health)]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]))
