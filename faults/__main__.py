"""``python -m faults``: the fault matrix against a throw-away hub with the demo province.

Sets up, in a temporary directory: a migrated hub database (SQLite, or ``--database-url``),
the demo departments' data (400 people), 人社厅's HTTP API with a fault proxy in front of
each of its two resources, and a hub (``datarun serve``) on a free loopback port. Then it
runs every mode × {one source, all sources} with record pulls and applications
(``--traffic``), prints each scenario and ``survived X / Y``,
and exits 0 only if every scenario survived. Bounded: ``--time-limit`` seconds (default
300) for the scenarios; everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from exchange.demo.applications import esf_transfer
from exchange.demo.seed import seed_demo
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import ensure_sources
from exchange.demo.sources.http_department import BackgroundServer, create_department_app
from exchange.identity.keys import KeyRing
from exchange.identity.tokens import issue_access_token
from faults import setup
from faults.matrix import ALL_MODES, Matrix, scenarios, summary
from faults.proxy import BackgroundProxy
from faults.traffic import ApplicationTraffic, PullTraffic, Traffic

API_KEY = "faults-demo-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the hub exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the hub was not ready within {timeout:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the matrix; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("--modes", default=",".join(ALL_MODES), help="comma-separated modes")
    parser.add_argument("--scopes", default="one,all", help="one, all, or both")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds for scenarios")
    parser.add_argument("--database-url", default="", help="hub database (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--traffic", default="pull,application", help="pull and/or application (comma-separated)"
    )
    args = parser.parse_args(argv)

    modes = [m for m in args.modes.split(",") if m]
    scopes = [s for s in args.scopes.split(",") if s in ("one", "all")]
    tmp = Path(tempfile.mkdtemp(prefix="datarun-faults-"))
    data_dir = tmp / "var"
    url = args.database_url or f"sqlite:///{tmp / 'hub.db'}"
    token = secrets.token_urlsafe(24)
    print(f"fault matrix: {len(modes)} modes × {len(scopes)} scopes, hub data in {tmp}")

    sources = ensure_sources(tmp / "demo-data", people=400)
    department = BackgroundServer(create_department_app(sources.http_database, api_key=API_KEY))
    port = department.start()
    proxies = {code: BackgroundProxy("127.0.0.1", port) for code in setup.HTTP_RESOURCES}
    for proxy in proxies.values():
        proxy.start()
    env = {
        "DATARUN_ENVIRONMENT": "development",
        "DATARUN_DATABASE_URL": url,
        "DATARUN_DATA_DIR": str(data_dir),
        "DATARUN_CONNECTOR_HTTP_ALLOWLIST": json.dumps(["127.0.0.1:*"]),
        "DATARUN_CONNECTOR_FILE_ROOTS": json.dumps([str(sources.root.parent), str(data_dir)]),
        "DATARUN_METRICS_TOKEN": token,
        "DATARUN_LOG_LEVEL": "WARNING",
        "DATARUN_RATE_LIMIT_PER_SECOND": "0",  # the matrix measures faults, not quotas
    }
    settings = Settings(
        environment="development",
        database_url=url,
        data_dir=data_dir,
        connector_http_allowlist=["127.0.0.1:*"],
        connector_file_roots=[sources.root.parent, data_dir],
    )
    hub: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        first = next(iter(proxies.values()))
        with factory() as session:
            http = HttpDepartment(base_url=first.url, api_key=API_KEY)
            seed_demo(
                session,
                key_dir=data_dir / "demo-keys",
                sources=sources,
                settings=settings,
                http=http,
            )
            setup.bind_through(
                session, settings=settings, sources=sources, proxies=proxies, api_key=API_KEY
            )
            setup.grant_pulls(session, settings=settings)
            session.commit()
        access, _ = issue_access_token(
            KeyRing(factory, settings),
            settings,
            subject=setup.SYSTEM,
            kind="system",
            department=setup.CONSUMER,
            roles=["system"],
            client_id=setup.SYSTEM,
            ttl_seconds=3600,
        )
        engine.dispose()

        hub_port = _free_port()
        command = [sys.executable, "-c", "from exchange.cli import main; main()", "serve"]
        command += ["--port", str(hub_port), "--workers", str(args.workers)]
        hub = subprocess.Popen(command, env={**os.environ, **env})  # noqa: S603
        base = f"http://127.0.0.1:{hub_port}"
        _wait_ready(base, hub)

        auth = {"Authorization": f"Bearer {access}"}
        kinds = set(args.traffic.split(","))
        traffic: list[Traffic] = []
        if "pull" in kinds:
            traffic.append(
                PullTraffic(headers=auth, purpose=setup.PURPOSE, budget=setup.DEADLINE_SECONDS)
            )
        if "application" in kinds:
            traffic.append(
                ApplicationTraffic(
                    headers=auth,
                    body=esf_transfer(form=False),  # the buyer's 社保 comes from 人社厅 over HTTP
                    budget=settings.application_budget_seconds,
                )
            )
        with httpx.Client(base_url=base, timeout=30) as client:
            matrix = Matrix(
                client=client,
                traffic=traffic,
                sources=setup.sources_of(proxies),
                breaker_cooldown=setup.BREAKER_COOLDOWN_SECONDS,
                time_limit=args.time_limit,
                metrics_headers={"Authorization": f"Bearer {token}"},
                say=print,
            )
            outcomes = matrix.run(scenarios(modes, scopes))
        print(summary(outcomes))
        return 0 if all(o.survived for o in outcomes) else 1
    finally:
        if hub is not None:
            _stop(hub)
        for proxy in proxies.values():
            proxy.stop()
        department.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
