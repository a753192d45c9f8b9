"""End-to-end record pulls per second of one hub process, against a bare endpoint.

Both servers run the same way in this run: a uvicorn subprocess each (one worker) on
loopback, over the same hub database and the same demo department data. The load comes from
a second process, in rounds that alternate between the two servers so that a busy moment of
the machine hits both alike; the median round of each is reported, with the server's CPU
time per pull (from /proc). The load generator is ``wrk`` (C, one thread, 32 keep-alive
connections, a Lua script cycling the keys; ``apt-get install wrk``) when it is installed,
so that it takes little of the two cores from the servers; otherwise a Python asyncio
HTTP/1.1 client with the same 32 connections, which takes about one core by itself.

- *hub*: ``POST /v1/records/301001002/000002/lookup`` by ``zj-zrzyt-window`` for one
  seller's ID card items (4 items, purpose 330000-ZR-001): token verification, the caller
  check, the catalogue view, the grant decision (casbin), the connector lookup (SQLite
  department database, resilience layer), the answer with provenance and SHA-256, and the
  access-log entry committed (group commit) before the answer is sent;
- *bare*: a FastAPI endpoint doing the same connector lookup through the same connector
  pool, answering the records as JSON: no token, no policy, no audit.

Keys are drawn round-robin from 500 people of the 公安 data. The hub database (grants,
catalogue, access log) is SQLite (WAL) unless ``DATARUN_BENCH_POSTGRES_URL`` is set (a
database of the run's own is created and dropped there); the department's data stays the
demo's SQLite file. At the end the access log must hold an entry for every hub pull.
Both servers run on uvloop and httptools, what ``datarun serve`` runs on in production
(``--asyncio``: both on asyncio's loop and h11 instead), and both settle their garbage
collector after startup as a serving hub does (``exchange/core/heap.py``;
``DATARUN_GC_TUNING=false`` in the environment: neither does).
Run: ``python -m benchmarks.bench_pulls`` (``--quick``: shorter rounds).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from benchmarks import loadgen
from benchmarks.common import hub_database, hub_settings

RESOURCE = "301001002/000002"
ITEMS = ["id_number", "name", "address", "valid_until"]
PURPOSE = "330000-ZR-001"
SYSTEM = "zj-zrzyt-window"
PEOPLE = 2_000
CONCURRENCY = 32
HUB_APP, BARE_APP = "exchange.app:create_app", "benchmarks.bench_pulls:bare_app"


# ---- the bare endpoint (run in its own process) ---------------------------------------


def bare_app() -> Any:
    """Return a FastAPI app doing the hub's connector lookup, and nothing else."""
    from exchange.bindings.pool import ConnectorPool
    from exchange.core import heap
    from exchange.core.db import make_engine, make_sessionmaker
    from exchange.core.settings import Settings
    from exchange.records.rules import json_value

    settings = Settings()
    pool = ConnectorPool(make_sessionmaker(make_engine(settings.effective_database_url)), settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.gc_tuning:  # the hub's serving process does the same (exchange/core/heap)
            heap.settle(settings.gc_gen0_threshold)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

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
    return await loadgen.drive(host, port, requests, int(spec["concurrency"]))


# wrk cycles the request bodies (one key each); loadgen.WRK_DONE reports.
_WRK_SCRIPT = """
local bodies = {%(bodies)s}
local headers = {%(headers)s}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", %(path)s, headers, bodies[i])
end
"""


def _wrk(spec: dict[str, Any]) -> dict[str, Any]:
    """Load the server with wrk for ``spec["seconds"]``; return the same measurements."""
    bodies = [json.dumps({**spec["body"], "keys": [k]}) for k in spec["keys"]]
    headers = {"Content-Type": "application/json", **spec["headers"]}
    script = _WRK_SCRIPT % {
        "bodies": ", ".join(loadgen.lua(b) for b in bodies),
        "headers": ", ".join(
            f"[ {loadgen.lua(k)} ] = {loadgen.lua(v)}" for k, v in headers.items()
        ),
        "path": loadgen.lua(spec["path"]),
    }
    return loadgen.run_wrk(
        script,
        port=int(spec["port"]),
        concurrency=int(spec["concurrency"]),
        seconds=float(spec["seconds"]),
        timeout="10s",
        ok="200",
    )


def _run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator in a second process and return its measurements."""
    if spec.get("wrk"):
        return _wrk(spec)
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


def _prepare(url: str, tmp: Path) -> tuple[dict[str, str], str, list[str]]:
    """Migrate, seed the demo, bind its data, grant zj-zrzyt; return env, token and keys."""
    from fastapi.testclient import TestClient

    from exchange.app import create_app
    from exchange.bindings import repository as bindings_repo
    from exchange.core.migrate import upgrade
    from exchange.demo.seed import seed_demo
    from exchange.demo.sources.bindings import apply_bindings
    from exchange.demo.sources.generate import ensure_sources
    from exchange.identity.tokens import issue_access_token

    # The per-system rate limit (200/s by default) still runs on every pull, but with
    # room for what one system sends here: the run measures pulls, not refusals.
    settings, env = hub_settings(
        url,
        tmp,
        DATARUN_RATE_LIMIT_PER_SECOND="1000000",
        DATARUN_RATE_LIMIT_BURST="1000000",
    )
    upgrade(url)
    sources = ensure_sources(tmp / "data", people=PEOPLE)
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        seed_demo(session, key_dir=tmp / "keys")
        apply_bindings(session, sources=sources, settings=settings, http=None)
        # The default limit (8 in flight, 2 waiting) is per source; 32 concurrent pulls
        # of one resource need more, for the hub and the bare endpoint alike.
        binding = bindings_repo.by_code(session, RESOURCE)
        assert binding is not None
        binding.resilience = {"max_concurrency": 64, "max_waiting": 64}
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


def _logged(url: str) -> int:
    """Return how many entries the hub's access log holds."""
    from sqlalchemy import func, select

    from exchange.audit.models import AuditEntry
    from exchange.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    finally:
        engine.dispose()


def _round(spec: dict[str, Any], pid: int) -> dict[str, Any]:
    before = loadgen.cpu_seconds(pid)
    result = _run_load(spec)
    after = loadgen.cpu_seconds(pid)
    if before is not None and after is not None:
        result["cpu_ms"] = (after - before) * 1000 / result["count"]
    return result


def _median(results: list[dict[str, Any]], label: str) -> dict[str, Any]:
    chosen = sorted(results, key=lambda r: r["rate"])[len(results) // 2]
    return {**chosen, "label": label}


def run(*, quick: bool = False, uvloop: bool = True) -> list[str]:
    """Set up, measure the hub and the bare endpoint in alternating rounds, report.

    ``uvloop``: run both servers on uvloop and httptools (dependencies of the hub, what
    ``datarun serve`` uses); False: on asyncio's loop and h11.
    """
    loop = "uvloop" if uvloop and _installed("uvloop", "httptools") else "asyncio"
    count, rounds = (2_000, 2) if quick else (5_000, 3)
    wrk = shutil.which("wrk") is not None
    seconds = 3 if quick else 5  # per round, with wrk (the Python client counts requests)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name, hub_database(Path(tmp_name)) as url:
        tmp = Path(tmp_name)
        env, token, keys = _prepare(url, tmp)
        setup = time.perf_counter() - started
        body = {"items": ITEMS, "purpose": PURPOSE}
        common = {
            "count": count,
            "seconds": seconds,
            "wrk": wrk,
            "concurrency": CONCURRENCY,
            "keys": keys,
            "body": body,
        }
        hub_spec = {
            **common,
            "path": f"/v1/records/{RESOURCE}/lookup",
            "headers": {"Authorization": f"Bearer {token}"},
        }
        bare_spec = {**common, "path": f"/lookup/{RESOURCE}", "headers": {}}
        hubs, bares = [], []
        with (
            loadgen.uvicorn_server(HUB_APP, env, loop) as (hub_port, hub_pid),
            loadgen.uvicorn_server("benchmarks.bench_pulls:bare_app", env, loop) as (
                bare_port,
                bare_pid,
            ),
        ):
            hub_spec["port"], bare_spec["port"] = hub_port, bare_port
            for spec in (hub_spec, bare_spec):  # warm up: connections, caches, the JIT-less VM
                _run_load({**spec, "count": 500, "seconds": 1})
            # Alternate rounds, so that a busy moment of the machine hits both alike.
            for _ in range(rounds):
                hubs.append(_round(hub_spec, hub_pid))
                bares.append(_round(bare_spec, bare_pid))
        audited = sum(r["count"] for r in hubs)
        logged = _logged(url)
    if logged < audited:
        raise RuntimeError(f"{audited} hub pulls answered but only {logged} access-log entries")
    hub, bare = _median(hubs, "hub: audited pull"), _median(bares, "bare: lookup only")
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    generator = "wrk" if wrk else "a Python asyncio client"
    size = f"{seconds} s" if wrk else f"{count:,} requests"
    lines = [
        f"record pulls end to end: one uvicorn process each ({loop}"
        f"{', httptools' if loop == 'uvloop' else ', h11'}), {backend} hub, {CONCURRENCY} "
        f"keep-alive connections from {generator} in a second process; median of {rounds} "
        f"alternating rounds of {size} (setup {setup:.0f} s; {audited:,} pulls measured, "
        f"{logged:,} entries in the access log)",
        f"  {'':<22} {'pulls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/pull':>19}",
    ]
    for r in (hub, bare):
        cpu = f"{r['cpu_ms']:.2f}" if "cpu_ms" in r else "n/a"
        lines.append(
            f"  {r['label']:<22} {r['rate']:>9,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{cpu:>19}"
        )
        if set(r["statuses"]) != {"200"}:
            lines.append(f"    statuses: {r['statuses']}")
    all_rates = ", ".join(
        f"{h['rate']:,.0f}/{b['rate']:,.0f}" for h, b in zip(hubs, bares, strict=True)
    )
    lines.append(f"  rounds hub/bare pulls/s: {all_rates}")
    lines.append(
        f"  ratio hub/bare {hub['rate'] / bare['rate']:.2f} "
        "(targets: ratio ≥ 0.5, hub ≥ 1,000 pulls/s)"
    )
    return lines


def _installed(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        print(json.dumps(asyncio.run(_load(json.loads(sys.stdin.read())))))
    else:
        print("\n".join(run(quick="--quick" in sys.argv, uvloop="--asyncio" not in sys.argv)))
