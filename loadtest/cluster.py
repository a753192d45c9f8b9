"""A loopback cluster: a hub database of its own, the seeded demo province, N hub processes.

``Cluster`` creates the database (a fresh PostgreSQL database beside ``postgres_url``, or a
SQLite file), generates the demo departments' data, starts the demo HTTP department (人社厅's
API) as a process of its own, migrates and seeds the demo province bound to that data, and
starts N hub processes with ``datarun serve`` (one uvicorn process each, its own port), all
on 127.0.0.1. Any of them can be killed with SIGKILL and started again on the same port.
Everything is stopped, and the database dropped, when the cluster closes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from exchange.bindings.models import ConnectorBinding
from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from exchange.demo.seed import load_province, seed_demo
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import DEFAULT_SEED, Sources, ensure_sources
from exchange.demo.sources.http_department import ensure_api_key
from exchange.identity.keys import KeyRing
from exchange.identity.tokens import issue_access_token

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "http://127.0.0.1/loadtest"
# Every binding gets these limits: the default (8 in flight, 2 waiting, 30 s cool-down) is a
# cautious department's; a load test measures the hub, so sources may take more at once.
SOURCE_LIMITS: dict[str, Any] = {
    "max_concurrency": 32,
    "max_waiting": 64,
    "breaker_cooldown_seconds": 3.0,
}


@dataclass
class ClusterConfig:
    """What to run: hub processes, the database, the demo data, extra hub settings."""

    hubs: int = 2
    postgres_url: str | None = None  # an admin URL: a database of the run's own is made there
    people: int = 20_000
    seed: int = DEFAULT_SEED
    workdir: Path | None = None  # default: a temporary directory, removed at the end
    keep: bool = False  # keep the workdir and the database for a look afterwards
    settings: dict[str, Any] = field(default_factory=dict)  # hub setting name → value
    source_limits: dict[str, Any] = field(default_factory=lambda: dict(SOURCE_LIMITS))
    sources_dir: Path | None = None  # where the departments' data is generated (or reused)
    # The hubs reach PostgreSQL at this loopback port (a fault proxy in front of the server)
    # instead of the server's own; the harness (seeding, checks) always goes direct.
    hub_database_port: int | None = None


@dataclass
class Proc:
    """One child process on a fixed loopback port."""

    name: str
    port: int
    command: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """Return the base URL it answers at."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """Tell whether the process is running."""
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        """Return the process id (None before the first start)."""
        return self.popen.pid if self.popen is not None else None


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_value(value: Any) -> str:
    """Render a setting as its ``DATARUN_*`` environment value (lists and dicts as JSON)."""
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hub_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("datarun")
    head = [str(script)] if script.exists() else [sys.executable, "-c", _CLI]
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


_CLI = "from exchange.cli import main; main()"


class Cluster:
    """The running processes and the database of one load run (a context manager)."""

    def __init__(self, config: ClusterConfig, *, say: Any = None) -> None:
        self.config = config
        self.say = say or (lambda _m: None)
        self.workdir = Path(config.workdir or tempfile.mkdtemp(prefix="datarun-loadtest-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "var"
        self.logs = self.workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.database_url = ""
        self._admin_url = config.postgres_url
        self._database_name: str | None = None
        self._engine: Engine | None = None
        self._keyring: KeyRing | None = None
        self.sources: Sources | None = None
        self.hubs: list[Proc] = []
        self.department: Proc | None = None
        self.values: dict[str, Any] = {}
        self.settings: Settings | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Create the database, seed the demo, start the department and the hubs."""
        started = time.monotonic()
        self.database_url = self._create_database()
        self.sources = ensure_sources(
            self.config.sources_dir or self.workdir / "data",
            seed=self.config.seed,
            people=self.config.people,
        )
        self.values = self._hub_values()
        self.settings = Settings(**self.values)
        self._start_department()
        self._seed()
        self.hubs = [
            Proc(f"hub-{i}", free_port(), [], self.logs / f"hub-{i}.log")
            for i in range(self.config.hubs)
        ]
        for hub in self.hubs:
            hub.command = _hub_command(hub.port)
            self._spawn(hub, self.hub_env())
        for i in range(len(self.hubs)):
            self.wait_ready(i)
        backend = "PostgreSQL" if self.is_postgres else "SQLite"
        self.say(
            f"cluster up in {time.monotonic() - started:.1f} s: {len(self.hubs)} hub processes "
            f"on {backend}, {self.config.people:,} people, HTTP department on "
            f"{self.department.url if self.department else '-'}"
        )

    def close(self) -> None:
        """Stop every process, drop the database, remove the workdir (unless kept)."""
        for proc in [*self.hubs, *([self.department] if self.department else [])]:
            _stop(proc)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._database_name and not self.config.keep and self._admin_url:
            admin = make_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(
                        text(f'DROP DATABASE IF EXISTS "{self._database_name}" WITH (FORCE)')
                    )
            finally:
                admin.dispose()
        if self.config.keep:
            self.say(f"kept: {self.workdir} (database {self.database_url.split('@')[-1]})")
        elif self.config.workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- the database and the demo --------------------------------------------------------

    @property
    def is_postgres(self) -> bool:
        """Tell whether the hub database is PostgreSQL."""
        return self.database_url.startswith("postgresql")

    def _create_database(self) -> str:
        if not self._admin_url:
            return f"sqlite:///{self.data_dir / 'hub.db'}"
        name = f"datarun_loadtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = make_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        self._database_name = name
        return make_url(self._admin_url).set(database=name).render_as_string(hide_password=False)

    def _hub_values(self) -> dict[str, Any]:
        assert self.sources is not None
        values: dict[str, Any] = {
            "environment": "development",
            "log_level": "WARNING",
            "database_url": self.database_url,
            "data_dir": str(self.data_dir),
            "issuer": ISSUER,
            "connector_file_roots": [str(self.sources.root.parent), str(self.data_dir)],
            "connector_http_allowlist": ["127.0.0.1:*"],
            # The per-system token bucket would measure itself: off unless asked for.
            "rate_limit_per_second": 0,
            # More signed checkpoints than the default 10,000, so kills meet some.
            "audit_checkpoint_every": 1000,
        }
        values.update(self.config.settings)
        if self.config.hub_database_port is not None and self.is_postgres:
            via = make_url(self.database_url).set(
                host="127.0.0.1", port=self.config.hub_database_port
            )
            values["database_url"] = via.render_as_string(hide_password=False)
        return values

    def hub_env(self) -> dict[str, str]:
        """Return the environment of a hub process: this one's, minus other DATARUN_* values."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATARUN_")}
        env.update({f"DATARUN_{k.upper()}": env_value(v) for k, v in self.values.items()})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _seed(self) -> None:
        assert self.settings is not None and self.sources is not None
        assert self.department is not None
        upgrade(self.database_url)
        http = HttpDepartment(
            base_url=self.department.url, api_key=self._department_key(), running=True
        )
        with session_scope(make_sessionmaker(self.engine)) as session:
            seed_demo(
                session,
                key_dir=self.data_dir / "demo-keys",
                sources=self.sources,
                settings=self.settings,
                http=http,
            )
            session.flush()
            for binding in session.scalars(select(ConnectorBinding)):
                binding.resilience = {**(binding.resilience or {}), **self.config.source_limits}

    @property
    def engine(self) -> Engine:
        """Return an engine on the hub database (this process's own)."""
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    # ---- tokens ---------------------------------------------------------------------------

    def token(
        self,
        subject: str,
        *,
        kind: str,
        department: str,
        roles: list[str],
        client_id: str | None = None,
        ttl: int = 3600,
    ) -> str:
        """Sign an access token with the hub's own key (as ``datarun token issue`` does)."""
        assert self.settings is not None
        if self._keyring is None:
            self._keyring = KeyRing(make_sessionmaker(self.engine), self.settings)
        token, _claims = issue_access_token(
            self._keyring,
            self.settings,
            subject=subject,
            kind=kind,
            department=department,
            roles=roles,
            client_id=client_id,
            ttl_seconds=ttl,
        )
        return token

    def system_token(self, client_id: str) -> str:
        """Return a one-hour token of a demo department system."""
        system = next(s for s in load_province().systems if s.client_id == client_id)
        return self.token(
            client_id,
            kind="system",
            department=system.department,
            roles=list(system.roles),
            client_id=client_id,
        )

    def user_token(self, username: str) -> str:
        """Return a one-hour token of a demo person (administrator, auditor)."""
        user = next(u for u in load_province().users if u.username == username)
        return self.token(
            f"user:{username}", kind="user", department=user.department, roles=list(user.roles)
        )

    # ---- processes ------------------------------------------------------------------------

    def _department_key(self) -> str:
        return ensure_api_key(self.data_dir / "demo-keys" / "loadtest-department.api-key")

    def _start_department(self) -> None:
        assert self.sources is not None
        key_file = self.data_dir / "demo-keys" / "loadtest-department.api-key"
        self._department_key()
        port = free_port()
        command = [sys.executable, "-m", "loadtest", "department"]
        command += ["--database", str(self.sources.http_database)]
        command += ["--port", str(port), "--key-file", str(key_file)]
        self.department = Proc("department", port, command, self.logs / "department.log")
        self.start_department()

    def start_department(self) -> None:
        """Start the HTTP department (again) on its port and wait until it answers."""
        assert self.department is not None
        self._spawn(self.department, {**os.environ, "PYTHONUNBUFFERED": "1"})
        _wait(self.department, "/healthz", timeout=30)

    def kill_department(self) -> None:
        """SIGKILL the HTTP department (its sources become unavailable)."""
        assert self.department is not None
        _kill(self.department)

    def pause_department(self) -> None:
        """Freeze the HTTP department (SIGSTOP): its sources hang until their deadline."""
        assert self.department is not None and self.department.popen is not None
        self.department.popen.send_signal(signal.SIGSTOP)

    def resume_department(self) -> None:
        """Let a frozen HTTP department run again (SIGCONT)."""
        assert self.department is not None and self.department.popen is not None
        self.department.popen.send_signal(signal.SIGCONT)

    def start_hub(self, index: int) -> None:
        """Start hub ``index`` (again) on its port, without waiting for it."""
        self._spawn(self.hubs[index], self.hub_env())

    def kill_hub(self, index: int) -> int | None:
        """SIGKILL hub ``index`` and reap it; return the pid killed."""
        pid = self.hubs[index].pid
        _kill(self.hubs[index])
        return pid

    def wait_ready(self, index: int, timeout: float = 90.0) -> float:
        """Wait until hub ``index`` answers ``/readyz`` with 200; return the seconds waited."""
        return _wait(self.hubs[index], "/readyz", timeout=timeout)

    def _spawn(self, proc: Proc, env: dict[str, str]) -> None:
        with proc.log.open("ab") as log:
            log.write(f"---- start {proc.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            proc.popen = subprocess.Popen(
                proc.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        proc.starts += 1

    @property
    def hub_urls(self) -> list[str]:
        """Return the base URLs of the hub processes."""
        return [h.url for h in self.hubs]


def _kill(proc: Proc) -> None:
    if proc.popen is not None and proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(timeout=30)


def _stop(proc: Proc) -> None:
    if proc.popen is None or proc.popen.poll() is not None:
        return
    proc.popen.terminate()
    try:
        proc.popen.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _kill(proc)


def _wait(proc: Proc, path: str, *, timeout: float) -> float:
    started = time.monotonic()
    while True:
        try:
            if httpx.get(proc.url + path, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        if not proc.alive:
            raise RuntimeError(f"{proc.name} exited:\n{_tail(proc.log)}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{_tail(proc.log)}")
        time.sleep(0.1)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
