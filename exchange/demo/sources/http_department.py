"""人社厅's own query API (部门自建接口): a small FastAPI app over the department's database.

It behaves like a provincial department's interface: an application key in ``X-Api-Key``,
a batch of 公民身份号码 in a JSON body, an optional field list, and the records in an
envelope ``{"code": 0, "message": "成功", "data": {"items": [...], "total": n}}``. Errors
keep the envelope with a non-zero ``code`` and a fitting HTTP status.

    POST /api/v1/cbxx/query   {"aac002": ["3301…"], "fields": ["aac002", "aac003"]}
    POST /api/v1/sbk/query    the same, for 社会保障卡
    GET  /healthz
"""

from __future__ import annotations

import hmac
import os
import secrets
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

API_KEY_HEADER = "X-Api-Key"
MAX_KEYS = 100
# Endpoint name → the department's table, its key field and the date fields it serves.
DATASETS: dict[str, tuple[str, str]] = {
    "cbxx": ("si_person", "aac002"),
    "sbk": ("si_card", "aac002"),
}


class Query(BaseModel):
    """A batch query: the 公民身份号码 to look up and, optionally, the fields wanted."""

    model_config = ConfigDict(extra="forbid")

    aac002: list[str] = Field(min_length=1)
    fields: list[str] | None = None


class DepartmentError(Exception):
    """An error the API answers with its envelope."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def create_department_app(database: Path, *, api_key: str) -> FastAPI:
    """Return the department's API app, reading ``database`` (a SQLite file) read-only."""
    app = FastAPI(
        title="浙江省人力资源和社会保障厅 数据查询接口 (demo)", docs_url=None, redoc_url=None
    )
    uri = f"file:{database}?mode=ro"
    columns = _columns(uri)

    @app.exception_handler(DepartmentError)
    async def _department_error(_request: Request, exc: DepartmentError) -> JSONResponse:
        return JSONResponse(_envelope(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else "body"
        return JSONResponse(_envelope(40001, f"请求参数错误: {where}"), status_code=400)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Say the API is up."""
        return _envelope(0, "ok")

    @app.post("/api/v1/{dataset}/query")
    def query(
        dataset: str,
        body: Query,
        x_api_key: str | None = Header(default=None, alias=API_KEY_HEADER),
    ) -> dict[str, Any]:
        """Return the records of the asked 公民身份号码 with the asked fields."""
        if x_api_key is None or not hmac.compare_digest(x_api_key, api_key):
            raise DepartmentError(401, 40101, "应用密钥无效")
        if dataset not in DATASETS:
            raise DepartmentError(404, 40401, f"没有数据集 {dataset}")
        table, key = DATASETS[dataset]
        if len(body.aac002) > MAX_KEYS:
            raise DepartmentError(400, 40002, f"一次最多查询 {MAX_KEYS} 个身份证号")
        wanted = body.fields or columns[table]
        unknown = [f for f in wanted if f not in columns[table]]
        if unknown:
            raise DepartmentError(400, 40003, f"未知字段: {', '.join(unknown)}")
        items = _select(uri, table, key, [key, *(f for f in wanted if f != key)], body.aac002)
        return _envelope(0, "成功", {"items": items, "total": len(items)})

    return app


def _columns(uri: str) -> dict[str, list[str]]:
    with sqlite3.connect(uri, uri=True) as conn:
        return {
            table: [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for table, _key in DATASETS.values()
        }


def _select(uri: str, table: str, key: str, fields: list[str], keys: list[str]) -> list[Any]:
    # Field names were checked against the table's own columns; keys are bound parameters.
    names = ", ".join(f'"{f}"' for f in fields)
    marks = ", ".join("?" for _ in keys)
    sql = f'SELECT {names} FROM "{table}" WHERE "{key}" IN ({marks})'  # noqa: S608
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return [
            {f: _json(row[f]) for f in fields}
            for row in conn.execute(sql, list(dict.fromkeys(keys)))
        ]
    finally:
        conn.close()


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def ensure_api_key(path: Path) -> str:
    """Return the department's API key kept at ``path`` (0600), creating it on first use."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(24)
    # O_EXCL and 0600 from the first byte, as for the demo systems' private keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


class BackgroundServer:
    """Runs an ASGI app with uvicorn in a daemon thread (the demo's department API)."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="demo-department", daemon=True
        )

    def start(self, timeout: float = 10.0) -> int:
        """Start serving and return the port bound (useful with port 0)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo department API did not start (is the port free?)")
            time.sleep(0.02)
        port: int = self._server.servers[0].sockets[0].getsockname()[1]
        return port

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
