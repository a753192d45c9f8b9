"""Catalogue search latency at 10,000 resources: through the HTTP API vs the bare service.

The hub runs in its own uvicorn process on loopback; the client is httpx with a real
bearer token, so each API sample pays HTTP, token verification, casbin and JSON. The
baseline is the same search called in-process on the service (query + ORM + schema),
measured in the same run on the same database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from benchmarks import loadgen
from benchmarks.common import LATENCY_HEADER, Latency, measure_latency
from catalogs.departments.models import Department
from catalogs.resources import rules, service
from catalogs.resources.models import Resource, ResourceItem
from exchange.core.db import make_engine, make_sessionmaker
from exchange.core.migrate import upgrade
from exchange.core.pagination import PageParams
from exchange.core.settings import Settings
from exchange.identity.keys import KeyRing
from exchange.identity.models import System
from exchange.identity.principal import Principal
from exchange.identity.tokens import issue_access_token

PROVINCE = Path(__file__).resolve().parents[1] / "exchange" / "demo" / "province.json"
CITIES = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"]

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("first page, no filter", {}),
    ("text 户籍 (Chinese)", {"q": "户籍"}),
    ("text id_number (item code)", {"q": "id_number"}),
    ("provider zj-gat", {"provider": "zj-gat"}),
    ("share_type + update_cycle", {"share_type": "conditional", "update_cycle": "daily"}),
    ("page 40 of all", {"page": 40, "size": 20}),
]


def populate(url: str, count: int) -> None:
    """Fill a migrated hub database with ``count`` published resources from the demo's shapes."""
    province = json.loads(PROVINCE.read_text(encoding="utf-8"))
    factory = make_sessionmaker(make_engine(url))
    with factory() as session:
        depts: dict[str, Department] = {}
        for d in province["departments"]:
            depts[d["code"]] = Department(code=d["code"], name=d["name"], level=d["level"])
        session.add_all(depts.values())
        session.flush()
        templates = province["resources"]
        for n in range(count):
            t = templates[n % len(templates)]
            city = CITIES[n % len(CITIES)]
            prefix = t["code"].split("/")[0]
            snap = dict(t, code=f"{prefix}/{n:06d}", name=f"{city}{t['name']}（第{n}号）")
            dept = depts[t["provider"]]
            resource = Resource(
                code=snap["code"],
                category_code=prefix,
                name=snap["name"],
                provider_id=dept.id,
                summary=t["summary"],
                format=t["format"],
                share_type=t["share_type"],
                share_condition=t.get("share_condition"),
                share_method=t["share_method"],
                legal_basis=t.get("legal_basis"),
                open_type=t["open_type"],
                update_cycle=t["update_cycle"],
                published_on=date(2026, 1, 1),
                related_codes=[],
                status="published",
                search_text=rules.search_text(snap, dept.name),
                items=[
                    ResourceItem(position=i, **{k: item.get(k) for k in rules.ITEM_FIELDS})
                    for i, item in enumerate(t["items"])
                ],
            )
            session.add(resource)
            if n % 1000 == 999:
                session.flush()
                print(f"  populated {n + 1:>6,} / {count:,} resources", file=sys.stderr)
        session.add(
            System(
                client_id="bench-reader",
                name="bench",
                department_id=depts["zj-gat"].id,
                roles=["system"],
                jwks={"keys": []},
            )
        )
        session.commit()


def _start_hub(url: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATARUN_DATABASE_URL=url,
        DATARUN_ISSUER=f"http://127.0.0.1:{port}",
        DATARUN_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "exchange.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("hub did not become ready")


def run(count: int = 10_000, samples: int = 200) -> list[str]:
    """Measure and return report lines."""
    lines = [f"catalogue search at {count:,} published resources (SQLite hub, one worker)"]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        upgrade(url)
        populate(url, count)
        port = loadgen.free_port()
        settings = Settings(database_url=url, issuer=f"http://127.0.0.1:{port}")
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        token, _ = issue_access_token(
            KeyRing(factory, settings),
            settings,
            subject="bench-reader",
            kind="system",
            department="zj-gat",
            roles=["system"],
            client_id="bench-reader",
            ttl_seconds=3600,
        )
        reader = Principal("bench-reader", "system", "zj-gat", frozenset({"system"}), "bench")
        hub = _start_hub(url, port)
        try:
            http = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
            )
            lines.append(LATENCY_HEADER + "   api/base")
            for label, params in QUERIES:
                page = PageParams(page=params.get("page", 1), size=params.get("size", 20))
                filters = {k: v for k, v in params.items() if k not in ("page", "size")}

                def baseline(page: PageParams = page, filters: dict[str, Any] = filters) -> None:
                    with factory() as session:
                        rows, _total = service.search_resources(
                            session, principal=reader, page=page, **filters
                        )
                        [service.to_read(r).model_dump(mode="json") for r in rows]

                def api(params: dict[str, Any] = params) -> None:
                    response = http.get("/v1/catalog/resources", params=params)
                    response.raise_for_status()

                base = measure_latency(f"service: {label}", baseline, samples=samples)
                over = measure_latency(f"api:     {label}", api, samples=samples)
                lines += [base.row(), over.row() + f"   {_ratio(over, base)}"]
            http.close()
        finally:
            hub.terminate()
            hub.wait(10)
            engine.dispose()
    return lines


def _ratio(a: Latency, b: Latency) -> str:
    return f"{a.p50 / b.p50:.2f}x"


if __name__ == "__main__":
    print("\n".join(run()))
