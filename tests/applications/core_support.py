"""Helpers of the core application tests: the demo hub, an 二手房交易过户 body, faulty sources.

Import the fixtures into a test module (``from tests.applications.core_support import
hub, settings``): ``settings`` replaces the suite's own with the background retry poller
off (tests run ``retry.run_due`` themselves) and ``hub`` is the running test hub with the
demo province bound to its departments' data and zj-zrzyt holding 二手房交易过户's grants.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.applications.models import Application
from exchange.audit.models import AuditEntry
from exchange.bindings.pool import ConnectorPool
from exchange.core.settings import Settings
from exchange.demo.applications import esf_transfer
from exchange.demo.sources.bindings import HttpDepartment, apply_bindings
from exchange.demo.sources.generate import Sources
from exchange.demo.sources.http_department import BackgroundServer
from exchange.identity.tokens import issue_access_token
from tests.fixtures.demo import DEMO_DEPARTMENT_KEY
from tests.records.support import grant_esf_transfer, headers

ESF = "esf-transfer"
WINDOW = "zj-zrzyt-window"
SOCIAL_INSURANCE = "306001001/000001"  # 人社 over HTTP: the buyer's social insurance
# A one-page PDF: small, and its magic bytes say what its content type says.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# What 二手房交易过户 pulls from the demo departments, in the case file's order.
ESF_PULLED = [
    "seller_id",
    "buyer_id",
    "property_cert",
    "mortgage_status",
    "seller_marital_status",
    "sale_contract",
    "deed_tax_receipt",
    "assessed_price",
    "buyer_social_insurance",
]


def hub_settings(database_url: str, tmp_path: Path, **changes: Any) -> Settings:
    """Return the suite's test settings with no background retry poller, and ``changes``."""
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "var",
        issuer="http://testserver",
        application_retry_poll_seconds=0,
        **changes,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's test settings, with no background retry poller."""
    return hub_settings(database_url, tmp_path)


@pytest.fixture
def hub(app: FastAPI, client: TestClient, demo_bound: Settings) -> Iterator[TestClient]:
    """The running test hub on the bound demo province; zj-zrzyt holds esf-transfer's grants."""
    app.state.connector_pool = ConnectorPool(app.state.sessionmaker, demo_bound)
    grant_esf_transfer(client, app)
    yield client


def esf_body(**changes: Any) -> dict[str, Any]:
    """Return an 二手房交易过户 submission: the seller applies, the buyer's keys are given."""
    body = esf_transfer(form=False)
    body.update(copy.deepcopy(changes))
    return body


def pdf_file(material: str, content: bytes = PDF, **changes: Any) -> dict[str, Any]:
    """Return one file item of a submission."""
    item = {
        "material": material,
        "filename": f"{material}.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode("ascii"),
    }
    item.update(changes)
    return item


def submit(
    client: TestClient,
    app: FastAPI,
    body: dict[str, Any] | None = None,
    *,
    who: str = WINDOW,
    key: str | None = None,
    auth: dict[str, str] | None = None,
) -> httpx.Response:
    """POST an application with a fresh (or the given) Idempotency-Key."""
    head = {**(auth or headers(app, who)), "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post("/v1/applications", json=body or esf_body(), headers=head)


def system_headers(app: FastAPI, client_id: str, department: str) -> dict[str, str]:
    """Return the Authorization header of a department system (registered by the demo)."""
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=client_id,
        kind="system",
        department=department,
        roles=["system"],
        client_id=client_id,
    )
    return {"Authorization": f"Bearer {token}"}


def user_headers(app: FastAPI, username: str, department: str, roles: list[str]) -> dict[str, str]:
    """Return the Authorization header of a person (a demo user)."""
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=f"user:{username}",
        kind="user",
        department=department,
        roles=roles,
    )
    return {"Authorization": f"Bearer {token}"}


def material(case: dict[str, Any], code: str) -> dict[str, Any]:
    """Return one material of a case file."""
    return next(m for m in case["materials"] if m["code"] == code)


def entries(app: FastAPI, after: int = 0) -> list[AuditEntry]:
    """Return the access-log entries past ``after``, in order."""
    with app.state.sessionmaker() as session:
        query = select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
        return list(session.scalars(query))


def last_seq(app: FastAPI) -> int:
    """Return the last sequence number of the access log (0 when empty)."""
    found = entries(app)
    return found[-1].seq if found else 0


def applications(db: Session) -> list[Application]:
    """Return every application row (fresh)."""
    db.expire_all()
    return list(db.scalars(select(Application).order_by(Application.id)))


# ---- a department API in front of the demo one, with faults ------------------------------


class FaultyDepartment:
    """A loopback proxy to the demo HTTP department that can hang, fail or talk nonsense.

    ``mode``: ``ok`` (forward), ``slow`` (forward after ``delay`` seconds), ``hang`` (never
    answer in time), ``status`` (answer ``status``), ``garbage`` (a 200 that is not JSON),
    ``norecord`` (a valid answer with no records), ``gate`` (hold a request whose body
    names ``gate_key`` until ``gate`` is set, forward the others). ``in_flight``/``peak``
    count the requests being served at once, ``held`` those waiting at the gate.
    """

    def __init__(self, upstream: HttpDepartment) -> None:
        self.upstream = upstream
        self.mode = "ok"
        self.delay = 0.0
        self.status = 500
        self.name = "王小明"
        self.hits = 0
        self.in_flight = 0
        self.peak = 0
        self.held = 0
        self.gate = threading.Event()
        self.gate_key = ""
        app = Starlette(routes=[Route("/{path:path}", self._serve, methods=["GET", "POST"])])
        self._server = BackgroundServer(app)  # type: ignore[arg-type]
        self.port = 0

    def start(self) -> str:
        """Serve on a free port; return the base URL."""
        self.port = self._server.start()
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    async def _serve(self, request: Request) -> Response:
        self.hits += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        if self.mode == "gate" and self.gate_key.encode() in body:
            self.held += 1
            try:
                for _ in range(3000):  # at most 30 s
                    if self.gate.is_set():
                        break
                    await asyncio.sleep(0.01)
            finally:
                self.held -= 1
        if self.mode == "hang":
            await asyncio.sleep(30)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "status":
            return Response(b'{"code": 50000, "message": "error"}', status_code=self.status)
        if self.mode == "garbage":
            return Response(b"<html>\x00\xff not json", media_type="application/json")
        if self.mode == "tamper":  # the department's copy of the name disagrees
            forwarded = await self._forward(request, body)
            data = json.loads(bytes(forwarded.body))
            for item in (data.get("data") or {}).get("items") or []:
                item["aac003"] = self.name
            return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")
        if self.mode == "norecord":
            return Response(
                b'{"code": 0, "message": "ok", "data": {"items": [], "total": 0}}',
                media_type="application/json",
            )
        return await self._forward(request, body)

    async def _forward(self, request: Request, body: bytes) -> Response:
        async with httpx.AsyncClient(base_url=self.upstream.base_url, timeout=10) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                content=body,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
        return Response(
            answer.content, status_code=answer.status_code, media_type="application/json"
        )


def closed_port() -> int:
    """Return a loopback port nobody listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def faulty_department(
    app: FastAPI, bound: Settings, sources: Sources, upstream: HttpDepartment
) -> Iterator[FaultyDepartment]:
    """Serve a FaultyDepartment in front of ``upstream`` and bind 人社's resources to it."""
    proxy = FaultyDepartment(upstream)
    rebind_http_department(app, bound, sources, proxy.start())
    try:
        yield proxy
    finally:
        proxy.stop()


def rebind_http_department(app: FastAPI, bound: Settings, sources: Sources, base_url: str) -> None:
    """Point the resources the HTTP department serves (人社) at ``base_url`` (no live check)."""
    http = HttpDepartment(base_url=base_url, api_key=DEMO_DEPARTMENT_KEY, running=False)
    with app.state.sessionmaker() as session:
        apply_bindings(session, sources=sources, settings=bound, http=http)
        session.commit()
    app.state.connector_pool.invalidate(SOCIAL_INSURANCE)


def grant_demo_windows(app: FastAPI, bound: Settings) -> None:
    """Give the three demo windows the grants their one-things need, as ``demo up`` does."""
    from exchange.demo.seed import DEMO_WINDOWS, grant_window

    with app.state.sessionmaker() as session:
        for one_thing, consumer in DEMO_WINDOWS:
            grant_window(
                session,
                one_thing=one_thing,
                consumer=consumer,
                settings=bound,
                reason="测试：提供方同意",
            )
        session.commit()
