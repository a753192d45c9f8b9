"""Applications (办件): assembly time against the slowest source, and applications per second.

*Assembly*: a one-thing of six materials, each pulled from its own department API on
loopback (a uvicorn subprocess) that answers after an injected latency of 20, 56, 92, 128,
164 and 200 ms. The hub (a uvicorn subprocess, SQLite unless ``DATARUN_BENCH_POSTGRES_URL``)
assembles the case file with the six pulls at once; its ``assembly_ms`` (the fan-out,
every pull through the record-pull path and the access log) is divided by the slowest
latency (target ≤ 1.2), against the serial sum (660 ms) and against the same six pulls made
one after the other through ``POST /v1/records/…/lookup``.

*Throughput*: 二手房交易过户 submitted by ``zj-zrzyt-window`` against the demo departments'
data (SQLite, DuckDB, Parquet, CSV and the HTTP department: nine pulls, fifteen
materials, the files and conflicts steps, the case file written), from a second process
with 16 keep-alive connections, each request with its own ``Idempotency-Key``: ``wrk`` for
30 s when it is installed (it leaves the two cores to the hub), else a Python asyncio client
sending 400 submissions.
Run: ``python -m benchmarks.bench_applications`` (``--quick``: fewer requests).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks import loadgen
from benchmarks.common import hub_database, hub_settings

LATENCIES_MS = (20, 56, 92, 128, 164, 200)
# Six resources keyed by a resident ID, each served by its own (slow) department API; none
# of them is one 二手房交易过户 pulls (the throughput part keeps the demo's own sources).
RESOURCES = (
    "301001001/000001",
    "302002001/000002",
    "306002001/000002",
    "307001001/000001",
    "308002001/000002",
    "309002001/000002",
)
ONE_THING = "bench-six-sources"
WINDOW = "zj-zrzyt-window"
CONCURRENCY = 16
PEOPLE = 500


# ---- the slow department APIs (one subprocess, one path per latency) ------------------


def source_app() -> Starlette:
    """Return the department APIs: ``POST /src/{ms}`` answers after ``ms`` milliseconds."""

    async def answer(request: Request) -> JSONResponse:
        delay = int(request.path_params["ms"]) / 1000
        body = await request.json()
        await asyncio.sleep(delay)
        items = [{"id": key, "name": "陈建国"} for key in body.get("ids", [])]
        return JSONResponse({"code": 0, "data": {"items": items}})

    return Starlette(routes=[Route("/src/{ms:int}", answer, methods=["POST"])])


# ---- setting up -----------------------------------------------------------------------


def _settings(url: str, tmp: Path) -> tuple[Any, dict[str, str]]:
    return hub_settings(
        url,
        tmp,
        DATARUN_RATE_LIMIT_PER_SECOND="0",
        DATARUN_APPLICATION_RETRY_POLL_SECONDS="0",
    )


def _prepare(url: str, tmp: Path, sources_port: int, department_url: str) -> dict[str, str]:
    """Migrate, seed the demo, bind it, add the six-source one-thing, grant zj-zrzyt."""
    from catalogs.onethings.schemas import OneThingCreate
    from catalogs.onethings.service import create_one_thing
    from exchange.bindings.schemas import BindingWrite
    from exchange.bindings.service import put_binding
    from exchange.core.db import make_engine, make_sessionmaker, session_scope
    from exchange.core.migrate import upgrade
    from exchange.demo.seed import seed_demo
    from exchange.demo.sources.bindings import HttpDepartment
    from exchange.demo.sources.generate import ensure_sources

    settings, env = _settings(url, tmp)
    upgrade(url)
    sources = ensure_sources(tmp / "data", people=PEOPLE)
    engine = make_engine(url)
    api_key = (tmp / "department.key").read_text().strip()
    with session_scope(make_sessionmaker(engine)) as session:
        # The demo windows' grants come with the sources (as ``datarun demo up``).
        http = HttpDepartment(base_url=department_url, api_key=api_key, running=True)
        seed_demo(session, key_dir=tmp / "keys", sources=sources, settings=settings, http=http)
        materials = [
            {
                "code": f"m{i}",
                "name": f"材料{i}（{ms} ms）",
                "kind": "pullable",
                "resource_code": code,
                "items": ["id_number", "name"],
                "key_identifier": "resident_id",
            }
            for i, (code, ms) in enumerate(zip(RESOURCES, LATENCIES_MS, strict=True), 1)
        ]
        create_one_thing(
            session,
            data=OneThingCreate(
                code=ONE_THING,
                name="基准：六个来源",
                lead_department="zj-zrzyt",
                service_items=["330000-ZR-001"],
                materials=materials,
            ),
            actor=None,
            authz=None,
        )
        for code, ms in zip(RESOURCES, LATENCIES_MS, strict=True):
            config = {
                "url": f"http://127.0.0.1:{sources_port}/src/{ms}",
                "method": "POST",
                "key_param": "ids",
                "fields_param": "fields",
                "records_path": "data.items",
            }
            body = BindingWrite(
                adapter="http",
                config=config,
                key_item="id_number",
                columns={"id_number": "id", "name": "name"},
                resilience={"retries": 0, "max_concurrency": 64, "max_waiting": 64},
            )
            put_binding(session, code=code, data=body, settings=settings, verify=False)
        _grant(session, settings)
    engine.dispose()
    return env


def _grant(session: Any, settings: Any) -> None:
    from exchange.demo.seed import grant_window

    grant_window(
        session, one_thing=ONE_THING, consumer="zj-zrzyt", settings=settings, reason="基准"
    )


def _token(url: str, tmp: Path) -> str:
    from exchange.core.db import make_engine, make_sessionmaker
    from exchange.identity.keys import KeyRing
    from exchange.identity.tokens import issue_access_token

    settings, _ = _settings(url, tmp)
    engine = make_engine(url)
    try:
        token, _claims = issue_access_token(
            KeyRing(make_sessionmaker(engine), settings),
            settings,
            subject=WINDOW,
            kind="system",
            department="zj-zrzyt",
            roles=["system"],
            client_id=WINDOW,
            ttl_seconds=3600,
        )
    finally:
        engine.dispose()
    return token


# ---- part 1: assembly against the slowest source --------------------------------------


def _six_body() -> dict[str, Any]:
    from exchange.demo.sources import cast

    return {
        "one_thing": ONE_THING,
        "applicant": {
            "kind": "person",
            "name": "陈建国",
            "identifiers": {"resident_id": cast.SELLER_ID},
        },
        "consent_to_fetch": True,
    }


def _assembly(port: int, token: str, samples: int) -> dict[str, Any]:
    from exchange.demo.sources import cast

    auth = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}"
    assembly, wall, serial = [], [], []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(samples + 3):  # three warm-up rounds: connections, caches
            started = time.perf_counter()
            response = client.post(
                "/v1/applications",
                json=_six_body(),
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            took = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            case = response.json()
            fetched = [m for m in case["materials"] if m["status"] == "fetched"]
            if len(fetched) != len(RESOURCES):
                raise RuntimeError(f"not every source answered: {case['materials']}")
            # The same six pulls, one after the other, through the record-pull route.
            started = time.perf_counter()
            for code in RESOURCES:
                one = client.post(
                    f"/v1/records/{code}/lookup",
                    json={
                        "keys": [cast.SELLER_ID],
                        "items": ["id_number", "name"],
                        "purpose": ONE_THING,
                    },
                    headers=auth,
                )
                one.raise_for_status()
            one_by_one = (time.perf_counter() - started) * 1000
            if i >= 3:
                assembly.append(case["assembly_ms"])
                wall.append(took)
                serial.append(one_by_one)
    return {
        "assembly_ms": statistics.median(assembly),
        "assembly_max_ms": max(assembly),
        "wall_ms": statistics.median(wall),
        "serial_ms": statistics.median(serial),
    }


# ---- part 2: applications per second --------------------------------------------------


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = "127.0.0.1", int(spec["port"])
    body = json.dumps(spec["body"], ensure_ascii=False).encode()
    requests = []
    for _ in range(int(spec["count"])):
        head = (
            f"POST /v1/applications HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Authorization: Bearer {spec['token']}\r\nIdempotency-Key: {uuid.uuid4().hex}\r\n"
            "\r\n"
        )
        requests.append(head.encode() + body)
    return await loadgen.drive(host, port, requests, int(spec["concurrency"]))


# wrk: every request carries an Idempotency-Key of its own (a counter behind a run prefix).
_WRK_SCRIPT = """
local body = %(body)s
local prefix = %(prefix)s
local headers = {%(headers)s}
local i = 0
request = function()
  i = i + 1
  headers["Idempotency-Key"] = prefix .. i
  return wrk.format("POST", "/v1/applications", headers, body)
end
"""


def _wrk(spec: dict[str, Any]) -> dict[str, Any]:
    """Load the hub with wrk (C: it leaves the two cores to the hub) for spec["seconds"]."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {spec['token']}"}
    script = _WRK_SCRIPT % {
        "body": loadgen.lua(json.dumps(spec["body"], ensure_ascii=False)),
        "prefix": loadgen.lua(uuid.uuid4().hex[:12] + "-"),
        "headers": ", ".join(
            f"[ {loadgen.lua(k)} ] = {loadgen.lua(v)}" for k, v in headers.items()
        ),
    }
    return loadgen.run_wrk(
        script,
        port=int(spec["port"]),
        concurrency=int(spec["concurrency"]),
        seconds=float(spec["seconds"]),
        timeout="30s",
        ok="201",
    )


def _run_load(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("seconds"):
        return _wrk(spec)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_applications", "load"],
        input=json.dumps(spec, ensure_ascii=False).encode(),
        capture_output=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _pulled(url: str) -> tuple[int, int]:
    """Return (applications, materials fetched) in the hub database."""
    from sqlalchemy import func, select

    from exchange.applications.models import Application, ApplicationMaterial
    from exchange.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            apps = int(conn.scalar(select(func.count()).select_from(Application)) or 0)
            fetched = conn.scalar(
                select(func.count())
                .select_from(ApplicationMaterial)
                .where(ApplicationMaterial.status == "fetched")
            )
            return apps, int(fetched or 0)
    finally:
        engine.dispose()


def run(*, quick: bool = False) -> list[str]:
    """Set up the hub and the slow sources, measure assembly and throughput, report."""
    from exchange.demo.applications import esf_transfer
    from exchange.demo.sources.generate import ensure_sources
    from exchange.demo.sources.http_department import (
        BackgroundServer,
        create_department_app,
        ensure_api_key,
    )

    samples, count, seconds = (5, 100, 8) if quick else (15, 400, 30)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name, hub_database(Path(tmp_name)) as url:
        tmp = Path(tmp_name)
        sources = ensure_sources(tmp / "data", people=PEOPLE)
        api_key = ensure_api_key(tmp / "department.key")
        department = BackgroundServer(create_department_app(sources.http_database, api_key=api_key))
        sources_port = loadgen.free_port()
        slow = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "benchmarks.bench_applications:source_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(sources_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=os.environ.copy(),
        )
        try:
            department_url = f"http://127.0.0.1:{department.start()}"
            env = _prepare(url, tmp, sources_port, department_url)
            token = _token(url, tmp)
            setup = time.perf_counter() - started
            with loadgen.uvicorn_server("exchange.app:create_app", env, "asyncio") as (port, pid):
                assembly = _assembly(port, token, samples)
                spec = {
                    "port": port,
                    "token": token,
                    "count": count,
                    "concurrency": CONCURRENCY,
                    "body": esf_transfer(),
                }
                _run_load({**spec, "count": max(20, count // 10)})  # warm up
                if shutil.which("wrk"):  # else a Python client, which takes a core itself
                    spec["seconds"] = seconds
                before = loadgen.cpu_seconds(pid)
                load = _run_load(spec)
                after = loadgen.cpu_seconds(pid)
            applications, fetched = _pulled(url)
        finally:
            slow.terminate()
            slow.wait(timeout=20)
            department.stop()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    slowest, serial_sum = max(LATENCIES_MS), sum(LATENCIES_MS)
    cpu = (
        f"{(after - before) * 1000 / load['count']:.1f}"
        if before is not None and after is not None
        else "n/a"
    )
    lines = [
        f"applications: one uvicorn hub process, {backend} (setup {setup:.0f} s)",
        f"  assembly of six sources at {', '.join(map(str, LATENCIES_MS))} ms "
        f"(median of {samples}):",
        f"    fan-out {assembly['assembly_ms']:.0f} ms (max {assembly['assembly_max_ms']:.0f}) "
        f"÷ slowest {slowest} ms = {assembly['assembly_ms'] / slowest:.2f} (target ≤ 1.2); "
        f"serial sum {serial_sum} ms = {serial_sum / slowest:.2f}",
        f"    submission end to end {assembly['wall_ms']:.0f} ms; the same six pulls one by "
        f"one through /v1/records {assembly['serial_ms']:.0f} ms",
        f"  二手房交易过户 (9 pulls, 15 materials) at {CONCURRENCY} connections, "
        f"{load['count']} submissions ({'wrk' if spec.get('seconds') else 'Python client'}):",
        f"    {load['rate']:.1f} applications/s ({load['rate'] * 9:.0f} pulls/s), "
        f"p50 {load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms, "
        f"server CPU {cpu} ms/application",
        f"    statuses {load['statuses']}; {applications} applications stored, "
        f"{fetched} materials fetched",
    ]
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        print(json.dumps(asyncio.run(_load(json.loads(sys.stdin.read())))))
    else:
        print("\n".join(run(quick="--quick" in sys.argv)))
