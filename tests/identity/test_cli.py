"""The identity CLI: ``datarun keys|users|systems|token``, run against the test database."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from exchange.app import create_app
from exchange.cli import app as datarun
from exchange.core.settings import Settings, get_settings
from tests.fixtures.factories import create_department

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's get_settings() at the test hub's database."""
    for code in ("zj-gat", "zj-mz"):
        create_department(db, code, name=code)
    db.commit()
    monkeypatch.setenv("DATARUN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATARUN_ISSUER", settings.issuer)
    monkeypatch.setenv("DATARUN_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(datarun, list(args))
    return result.exit_code, result.stdout, result.output


def whoami(client: TestClient, token: str) -> dict:
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_users_add_list_and_token_issue(client: TestClient, cli_env: None) -> None:
    code, _, output = run(
        "users", "add", "alice", "--department", "zj-gat",
        "--role", "catalog_admin", "--role", "auditor", "--display-name", "张三",
    )  # fmt: skip
    assert code == 0, output
    code, out, _ = run("users", "list")
    assert code == 0 and "alice\tzj-gat\tauditor,catalog_admin\tactive\t张三" in out

    code, token, output = run("token", "issue", "--user", "alice", "--ttl", "120")
    assert code == 0, output
    who = whoami(client, token.strip())
    assert who["subject"] == "user:alice" and who["kind"] == "user"
    assert who["roles"] == ["auditor", "catalog_admin"] and who["department"] == "zj-gat"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "add", "bob", "--department", "zj-nowhere", "--role", "auditor"), "department"),
        (("users", "add", "bob", "--department", "zj-gat", "--role", "system"), "roles[0]"),
        (("users", "add", "Bob Smith", "--department", "zj-gat", "--role", "auditor"), "username"),
        (("token", "issue", "--user", "nobody"), "no user nobody"),
    ],
)
def test_cli_errors_exit_1_with_the_reason(
    cli_env: None, args: tuple[str, ...], message: str
) -> None:
    code, _, output = run(*args)
    assert code == 1
    assert message in output


def test_duplicate_user_is_refused(cli_env: None) -> None:
    assert run("users", "add", "alice", "--department", "zj-gat", "--role", "auditor")[0] == 0
    code, _, output = run("users", "add", "alice", "--department", "zj-mz", "--role", "auditor")
    assert code == 1 and "already exists" in output


def test_keys_rotate_and_list(client: TestClient, cli_env: None) -> None:
    assert run("users", "add", "alice", "--department", "zj-gat", "--role", "auditor")[0] == 0
    old_token = run("token", "issue", "--user", "alice")[1].strip()
    code, out, _ = run("keys", "list")
    assert code == 0 and out.count("\tsigning\t") == 1

    code, out, output = run("keys", "rotate")
    assert code == 0, output
    assert out.startswith("signing with hub-") and "verifies until" in out
    code, out, _ = run("keys", "list")
    assert out.count("\tsigning\t") == 1 and out.count("\tverifying\t") == 1

    client.app.state.keyring.refresh()  # type: ignore[attr-defined]
    new_token = run("token", "issue", "--user", "alice")[1].strip()
    assert whoami(client, old_token)["subject"] == "user:alice"
    assert whoami(client, new_token)["subject"] == "user:alice"
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 2


def test_systems_keygen_and_add(tmp_path: Path, client: TestClient, cli_env: None) -> None:
    code, out, output = run("systems", "keygen", "zj-gat-window", "--out", str(tmp_path))
    assert code == 0, output
    public = json.loads(out)
    assert public["kty"] == "OKP" and public["crv"] == "Ed25519" and "d" not in public
    private_path = tmp_path / "zj-gat-window.private.jwk.json"
    assert stat.S_IMODE(os.stat(private_path).st_mode) == 0o600
    assert json.loads(private_path.read_text())["kid"] == public["kid"]
    again = run("systems", "keygen", "zj-gat-window", "--out", str(tmp_path))
    assert again[0] == 1 and "refusing to overwrite" in again[2]

    refused = run(
        "systems", "add", "zj-gat-window", "--department", "zj-gat",
        "--name", "一窗受理", "--jwk-file", str(private_path),
    )  # fmt: skip
    assert refused[0] == 1 and "private key material" in refused[2]
    code, _, output = run(
        "systems", "add", "zj-gat-window", "--department", "zj-gat",
        "--name", "一窗受理", "--jwk-file", str(tmp_path / "zj-gat-window.public.jwk.json"),
    )  # fmt: skip
    assert code == 0, output
    code, out, _ = run("systems", "list")
    assert f"zj-gat-window\tzj-gat\tactive\t{public['kid']}\t一窗受理" in out


@pytest.fixture
def live_hub(settings: Settings) -> Iterator[str]:
    """The hub served over real HTTP by uvicorn on a free local port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    hub: FastAPI = create_app(settings.model_copy(update={"issuer": url}))
    server = uvicorn.Server(uvicorn.Config(hub, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    hub.state.engine.dispose()


def test_token_client_does_the_exchange_over_http(
    tmp_path: Path, cli_env: None, live_hub: str
) -> None:
    assert run("systems", "keygen", "zj-mz-window", "--out", str(tmp_path))[0] == 0
    public_file = str(tmp_path / "zj-mz-window.public.jwk.json")
    add = ("systems", "add", "zj-mz-window", "--department", "zj-mz", "--name", "民政一窗")
    assert run(*add, "--jwk-file", public_file)[0] == 0
    key_file = str(tmp_path / "zj-mz-window.private.jwk.json")

    code, token, output = run(
        "token", "client", "--client-id", "zj-mz-window", "--key-file", key_file, "--url", live_hub
    )
    assert code == 0, output
    me = httpx.get(f"{live_hub}/v1/me", headers={"Authorization": f"Bearer {token.strip()}"})
    assert me.status_code == 200, me.text
    who = me.json()
    assert who["subject"] == "zj-mz-window" and who["kind"] == "system"
    assert who["department"] == "zj-mz"

    wrong = run(
        "token", "client", "--client-id", "zj-gat-window", "--key-file", key_file, "--url", live_hub
    )
    assert wrong[0] == 1 and "invalid_client" in wrong[2]
