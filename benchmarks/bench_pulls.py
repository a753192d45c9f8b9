"""End-to-end record pulls per second of one hub process, against a bare endpoint.

Both servers run the same way, one after the other, in this run: a uvicorn subprocess (one
worker) on loopback over the same hub database and the same demo department data, and the
load comes from a second process (an asyncio HTTP/1.1 keep-alive client, concurrency 32).

- *hub*: ``POST /v1/records/301001002/000002/lookup`` by ``zj-zrzyt-window`` for one
  seller's ID card items (4 items, purpose 330000-ZR-001): token verification, the caller
  check, the catalogue view, the grant decision (casbin), the connector lookup (SQLite
  department database, resilience layer), the answer with provenance and SHA-256, and the
  access-log entry committed (group commit) before the answer is sent;
- *bare*: a FastAPI endpoint doing the same connector lookup through the same connector
  pool, answering the records as JSON: no token, no policy, no audit.

Keys are drawn round-robin from 500 people of the 公安 data. The hub database is SQLite
(WAL) unless ``DATARUN_BENCH_POSTGRES_URL`` is set (a database of the run's own is created
and dropped there). Run: ``python -m benchmarks.bench_pulls`` (``--quick``: fewer requests).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

RESOURCE = "301001002/000002"
ITEMS = ["id_number", "name", "address", "valid_until"]
PURPOSE = "330000-ZR-001"
SYSTEM = "zj-zrzyt-window"
PEOPLE = 2_000
CONCURRENCY = 32


# ---- the bare endpoint (run in its own process) ---------------------------------------


def bare_app() -> Any:
    """Return a FastAPI app doing the hub's connector lookup, and nothing else."""
    from exchange.bindings.pool import ConnectorPool
    from exchange.core.db import make_engine, make_sessionmaker
    from exchange.core.settings import Settings
    from exchange.records.rules import json_value

    settings = Settings()
    pool = ConnectorPool(make_sessionmaker(make_engine(settings.effective_database_url)), settings)
    app = FastAPI()

    @app.post("/lookup/{code:path}")
    async def lookup(code: str, request: Request) -> Response:
        body = json.loads(await request.body())
        connector = await pool.get(code)
        result = await connector.lookup(body["keys"], body["items"])
        records = [{k: json_value(v) for k, v in r.items()} for r in result.records]
        payload = {"records": records, "missing": result.missing}
        return Response(
            json.dumps(payload, ensure_ascii=False).encode(), media_type="application/json"
        )

    return app


# ---- the load generator (run in its own process) --------------------------------------


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    step: int,
    times: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i in range(start, len(requests), step):
            t0 = time.perf_counter()
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            times.append(time.perf_counter() - t0)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = "127.0.0.1", int(spec["port"])
    requests = []
    for i in range(int(spec["count"])):
        key = spec["keys"][i % len(spec["keys"])]
        body = json.dumps({**spec["body"], "keys": [key]}).encode()
        head = (
            f"POST {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items())
            + "\r\n"
        )
        requests.append(head.encode() + body)
    times: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    n = int(spec["concurrency"])
    await asyncio.gather(*(_worker(host, port, requests, w, n, times, statuses) for w in range(n)))
    elapsed = time.perf_counter() - started
    times.sort()
    return {
        "count": len(times),
        "seconds": elapsed,
        "rate": len(times) / elapsed,
        "p50_ms": times[len(times) // 2] * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
        "statuses": statuses,
    }


def _run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a second process and return its measurements."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_pulls", "load"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---- setting up the hub database ------------------------------------------------------


@contextmanager
def _hub_database(tmp: Path) -> Iterator[str]:
    base = os.environ.get("DATARUN_BENCH_POSTGRES_URL", "")
    if not base:
        yield f"sqlite:///{tmp / 'hub.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from exchange.core.db import make_engine

    name = f"datarun_bench_pulls_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str, tmp: Path) -> tuple[dict[str, str], str, list[str]]:
    """Migrate, seed the demo, bind its data, grant zj-zrzyt; return env, token and keys."""
    from fastapi.testclient import TestClient

    from exchange.app import create_app
    from exchange.bindings.models import ConnectorBinding
    from exchange.core.migrate import upgrade
    from exchange.core.settings import Settings
    from exchange.demo.seed import seed_demo
    from exchange.demo.sources.bindings import apply_bindings
    from exchange.demo.sources.generate import ensure_sources
    from exchange.identity.tokens import issue_access_token
    from exchange.records.repository import resource_by_code

    env = {
        "DATARUN_ENVIRONMENT": "development",
        "DATARUN_LOG_LEVEL": "WARNING",
        "DATARUN_DATABASE_URL": url,
        "DATARUN_DATA_DIR": str(tmp / "var"),
        "DATARUN_CONNECTOR_FILE_ROOTS": json.dumps([str(tmp)]),
        "DATARUN_CONNECTOR_HTTP_ALLOWLIST": json.dumps(["127.0.0.1:*"]),
    }
    upgrade(url)
    sources = ensure_sources(tmp / "data", people=PEOPLE)
    settings = Settings(
        **{
            k[len("DATARUN_") :].lower(): json.loads(v) if v.startswith("[") else v
            for k, v in env.items()
        }
    )
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        seed_demo(session, key_dir=tmp / "keys")
        apply_bindings(session, sources=sources, settings=settings, http=None)
        # The default limit (8 in flight, 2 waiting) is per source; 32 concurrent pulls
        # of one resource need more, for the hub and the bare endpoint alike.
        resource = resource_by_code(session, RESOURCE)
        assert resource is not None
        for row in session.query(ConnectorBinding).filter_by(resource_id=resource.id):
            row.resilience = {"max_concurrency": 64, "max_waiting": 64}
        session.commit()
    app.state.authorizer.reload()
    with TestClient(app) as client:
        admin = _token(app, "user:zrzyt-admin", "user", "zj-zrzyt", ["catalog_admin"])
        filed = client.post(
            "/v1/one-things/esf-transfer/demand/file?consumer=zj-zrzyt", headers=admin
        )
        filed.raise_for_status()
        for request in filed.json()["requests"]:
            grant = request["grant"]
            provider = grant["provider"].removeprefix("zj-")
            who = _token(
                app, f"user:{provider}-admin", "user", grant["provider"], ["catalog_admin"]
            )
            client.post(
                f"/v1/grants/{grant['id']}/approve", json={}, headers=who
            ).raise_for_status()
        token, _ = issue_access_token(
            app.state.keyring,
            settings,
            subject=SYSTEM,
            kind="system",
            department="zj-zrzyt",
            roles=["system"],
            client_id=SYSTEM,
            ttl_seconds=3600,
        )
    app.state.engine.dispose()
    gat = sources.root / sources.manifest["departments"]["zj-gat"]["path"]
    with sqlite3.connect(gat) as conn:
        keys = [r[0] for r in conn.execute("SELECT gmsfhm FROM jmsfz ORDER BY gmsfhm LIMIT 500")]
    return env, token, keys


def _token(app: Any, subject: str, kind: str, dept: str, roles: list[str]) -> dict[str, str]:
    from exchange.identity.tokens import issue_access_token

    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=subject,
        kind=kind,
        department=dept,
        roles=roles,
        client_id=None,
    )
    return {"Authorization": f"Bearer {token}"}


# ---- running the servers --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _server(app_ref: str, env: dict[str, str]) -> Iterator[int]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        app_ref,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{app_ref} did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _measure(label: str, app_ref: str, env: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    with _server(app_ref, env) as port:
        warm = {**spec, "port": port, "count": max(200, spec["count"] // 10)}
        _run_load(warm)
        result = _run_load({**spec, "port": port})
    result["label"] = label
    return result


def run(*, quick: bool = False) -> list[str]:
    """Set up, measure the hub and the bare endpoint, and return report lines."""
    count = 3_000 if quick else 10_000
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name, _hub_database(Path(tmp_name)) as url:
        tmp = Path(tmp_name)
        env, token, keys = _prepare(url, tmp)
        setup = time.perf_counter() - started
        body = {"items": ITEMS, "purpose": PURPOSE}
        common = {"count": count, "concurrency": CONCURRENCY, "keys": keys, "body": body}
        hub = _measure(
            "hub: audited pull",
            "exchange.app:create_app",
            env,
            {
                **common,
                "path": f"/v1/records/{RESOURCE}/lookup",
                "headers": {"Authorization": f"Bearer {token}"},
            },
        )
        bare = _measure(
            "bare: connector lookup only",
            "benchmarks.bench_pulls:bare_app",
            env,
            {**common, "path": f"/lookup/{RESOURCE}", "headers": {}},
        )
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    lines = [
        f"record pulls end to end (one uvicorn process, {backend} hub, {CONCURRENCY} concurrent "
        f"keep-alive connections from a second process, {count:,} requests; setup {setup:.0f} s)",
        f"  {'':<30} {'pulls/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses",
    ]
    for r in (hub, bare):
        lines.append(
            f"  {r['label']:<30} {r['rate']:>9,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}  "
            f"{r['statuses']}"
        )
    lines.append(f"  ratio hub/bare {hub['rate'] / bare['rate']:.2f} (target ≥ 0.5; hub ≥ 1,000/s)")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        print(json.dumps(asyncio.run(_load(json.loads(sys.stdin.read())))))
    else:
        print("\n".join(run(quick="--quick" in sys.argv)))
