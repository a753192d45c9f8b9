"""``datarun demo seed`` and ``datarun demo up``, run as a newcomer would run them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from exchange.cli import app
from exchange.core.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty DATARUN_DATA_DIR with the embedded SQLite default."""
    path = tmp_path / "var"
    monkeypatch.setenv("DATARUN_DATA_DIR", str(path))
    monkeypatch.delenv("DATARUN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_demo_seed_migrates_and_seeds_idempotently(data_dir: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "seed", "--people", "60"])
    assert first.exit_code == 0, first.output
    assert re.search(r"resources\s+(\d+) in the demo,\s+\1 created", first.output)
    assert (data_dir / "hub.db").exists()
    keys = sorted(p.name for p in (data_dir / "demo-keys").iterdir())
    assert "zj-zrzyt-window.jwk.json" in keys

    second = runner.invoke(app, ["demo", "seed", "--people", "60"])
    assert second.exit_code == 0, second.output
    assert "seeded: 0 objects created" in second.output
    assert sorted(p.name for p in (data_dir / "demo-keys").iterdir()) == keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_banner(proc: subprocess.Popen[str], deadline: float, log: Path) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("datarun token client"):
            return lines
    pytest.fail("demo up printed no banner:\n" + "\n".join(lines) + log.read_text())


def _wait_until_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("the hub did not come up")


def test_demo_up_prints_a_token_and_a_curl_line_that_work(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATARUN_")}
    env["DATARUN_DATA_DIR"] = str(tmp_path / "var")
    log = tmp_path / "stderr.log"
    command = [sys.executable, "-c", "from exchange.cli import main; main()"]
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [
                *command,
                "demo",
                "up",
                "--port",
                str(port),
                "--people",
                "60",
                "--department-port",
                "0",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        # demo up also generates the departments' data and binds the resources to it
        deadline = time.monotonic() + 90
        lines = _wait_for_banner(proc, deadline, log)
        text = "\n".join(lines)
        base = f"http://127.0.0.1:{port}"
        assert f"base URL   {base}" in text and f"{base}/docs" in text
        token = next(line.split("=", 1)[1] for line in lines if line.startswith("export TOKEN="))
        curl = next(line for line in lines if line.startswith("curl "))
        assert curl.isascii(), "the printed URL must be percent-encoded"
        assert "--key-file var/demo-keys/zj-zrzyt-window.jwk.json" in text
        assert "330106197803154217" in text  # a seller the departments know
        pull = next(line for line in lines if line.startswith("datarun demo lookup "))
        _wait_until_ready(base, deadline)

        url = re.search(r"'(http[^']+)'", curl).group(1)  # type: ignore[union-attr]
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert "居民户籍信息" in [r["name"] for r in response.json()["items"]]
        fresh = next(line for line in lines if line.startswith("datarun token client"))
        got = subprocess.run(
            [*command, *shlex.split(fresh)[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert got.returncode == 0, got.stderr
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {got.stdout.strip()}"})
        assert me.status_code == 200 and me.json()["subject"] == "zj-zrzyt-window"
        pulled = subprocess.run(
            [*command, *shlex.split(pull)[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pulled.returncode == 0, pulled.stderr
        assert "陈建国、沈丽华" in pulled.stdout
        if shutil.which("curl") and shutil.which("bash"):
            ran = subprocess.run(
                ["bash", "-c", curl],
                env={**env, "TOKEN": token},
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert "居民户籍信息" in ran.stdout
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
