"""``datarun serve --workers 2``: a real multi-process hub, one set of metrics, JSON logs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.records.support import SELLER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, Path, Path]]:
    """A hub of two uvicorn workers on a migrated SQLite database; (base URL, log, data dir)."""
    database = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, database)
    port = _free_port()
    env = {
        **os.environ,
        "DATARUN_ENVIRONMENT": "test",
        "DATARUN_DATABASE_URL": f"sqlite:///{database}",
        "DATARUN_DATA_DIR": str(tmp_path / "var"),
        "DATARUN_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "hub.log"
    command = [sys.executable, "-c", "from exchange.cli import main; main()", "serve"]
    command += ["--workers", "2", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the hub did not get ready"
            time.sleep(0.3)
        yield base, log, tmp_path / "var"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_workers_serve_and_report_one_set_of_metrics(served: tuple[str, Path, Path]) -> None:
    base, log, data_dir = served
    for _ in range(20):  # a new connection each time, so both workers take some
        assert httpx.get(f"{base}/healthz", headers={"Connection": "close"}).status_code == 200
    refused = httpx.get(f"{base}/v1/records/301001002/000002?key={SELLER}&items=name")
    assert refused.status_code == 401
    metrics = httpx.get(f"{base}/metrics")  # we are on loopback
    assert metrics.status_code == 200
    total = 0.0
    for family in text_string_to_metric_families(metrics.text):
        for sample in family.samples:
            if sample.name == "datarun_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/healthz",
                "status": "200",
            }:
                total += sample.value
    assert total == 20  # the sum over both workers' files
    assert list((data_dir / "metrics").glob("counter_*.db")), "no multiprocess metric files"

    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [json.loads(line) for line in lines if '"datarun.request"' in line]
    assert sum(r["route"] == "/healthz" for r in requests) == 20
    assert all(len(r["request_id"]) == 32 for r in requests)
    text = log.read_text()
    assert SELLER not in text  # uvicorn's access log (which prints query strings) is off
    assert 'HTTP/1.1" 200' not in text
