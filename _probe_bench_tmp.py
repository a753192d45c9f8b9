import os, subprocess, sys, tempfile, time, uuid, json
from pathlib import Path
import httpx
from benchmarks import bench_applications as b
from benchmarks.bench_pulls import _free_port, _hub_database, _server
from exchange.demo.sources.generate import ensure_sources
from exchange.demo.sources.http_department import BackgroundServer, create_department_app, ensure_api_key
from sqlalchemy import select
from exchange.core.db import make_engine
from exchange.audit.models import AuditEntry

with tempfile.TemporaryDirectory() as t, _hub_database(Path(t)) as url:
    tmp = Path(t)
    sources = ensure_sources(tmp / "data", people=b.PEOPLE)
    key = ensure_api_key(tmp / "department.key")
    dep = BackgroundServer(create_department_app(sources.http_database, api_key=key))
    sp = _free_port()
    slow = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bench_applications:source_app", "--host", "127.0.0.1", "--port", str(sp), "--log-level", "warning", "--no-access-log"])
    try:
        env = b._prepare(url, tmp, sp, f"http://127.0.0.1:{dep.start()}")
        token = b._token(url, tmp)
        with _server("exchange.app:create_app", env) as (port, pid):
            c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            for i in range(8):
                t0 = time.perf_counter()
                r = c.post("/v1/applications", json=b._six_body(), headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
                wall = (time.perf_counter()-t0)*1000
                case = r.json()
                e = make_engine(url)
                with e.connect() as conn:
                    rows = conn.execute(select(AuditEntry.resource_code, AuditEntry.latency_ms, AuditEntry.at).where(AuditEntry.case_id == case["number"]).order_by(AuditEntry.seq)).all()
                e.dispose()
                print(round(wall), case["assembly_ms"], [(r[0][:6], r[1]) for r in rows], [r[2].strftime("%S.%f")[:-3] for r in rows])
    finally:
        slow.terminate(); dep.stop()
