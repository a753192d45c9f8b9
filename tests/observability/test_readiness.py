"""Readiness: 503 naming the check while the database or the access log's store is
unreachable, and ready again without a restart once they are back."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from exchange.app import create_app
from exchange.core.settings import Settings
from exchange.health.checks import schema_heads
from faults.proxy import BackgroundProxy

HEAD = max(schema_heads())


def _hub(tmp_path: Path, url: str, **extra: object) -> Settings:
    return Settings(
        environment="test",
        database_url=url,
        data_dir=tmp_path / "var",
        issuer="http://testserver",
        **extra,  # type: ignore[arg-type]
    )


def test_a_broken_sqlite_path_is_not_ready_until_the_database_is_there(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "hub.db"
    path.mkdir()  # where the database file should be, a directory: nothing can open it
    app = create_app(_hub(tmp_path, f"sqlite:///{path}"))
    with TestClient(app) as client:
        down = client.get("/readyz")
        assert down.status_code == 503
        body = down.json()
        assert body["status"] == "unavailable"
        assert body["failed"] == ["database", "audit_log"]
        assert body["checks"]["database"] == "error: OperationalError"
        # Meanwhile a route that needs the database is a clean 503, not a 500.
        outage = client.get("/catalog.jsonld")
        assert outage.status_code == 503 and outage.headers["retry-after"] == "2"
        assert outage.json()["type"].endswith("/database-unavailable")

        path.rmdir()
        shutil.copyfile(sqlite_template, path)  # the database is back (restored, migrated)
        up = client.get("/readyz")
        assert up.status_code == 200, up.text
        assert up.json() == {
            "status": "ready",
            "checks": {"database": "ok", "schema": HEAD, "audit_log": "ok", "checkpoints": "ok"},
            "failed": [],
        }
        assert client.get("/catalog.jsonld").status_code == 200
    app.state.engine.dispose()


def test_an_old_schema_or_an_unwritable_checkpoint_dir_is_named(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, path)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the checkpoint directory should be")
    app = create_app(_hub(tmp_path, f"sqlite:///{path}", audit_checkpoint_dir=blocked / "cp"))
    with TestClient(app) as client:
        with app.state.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        body = client.get("/readyz").json()
        assert body["failed"] == ["database", "checkpoints"]
        assert body["checks"]["database"] == f"error: schema at 0001, this hub needs {HEAD}"
        assert body["checks"]["checkpoints"] == "error: the checkpoint directory is not writable"
        with app.state.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": HEAD})
        blocked.unlink()
        assert client.get("/readyz").status_code == 200
    app.state.engine.dispose()


def test_a_stopped_postgresql_is_not_ready_then_recovers(
    tmp_path: Path, postgres_database: str
) -> None:
    real = make_url(postgres_database)
    with BackgroundProxy(real.host or "127.0.0.1", real.port or 5432, protocol="tcp") as proxy:
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = create_app(_hub(tmp_path, url))
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            proxy.set_mode("refused")  # PostgreSQL gone: open connections cut, new ones refused
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["failed"] == ["database", "audit_log"]
            assert client.get("/catalog.jsonld").status_code == 503
            proxy.set_mode("pass")  # back: the pools reconnect, no restart
            assert client.get("/readyz").status_code == 200
            assert client.get("/catalog.jsonld").status_code == 200
        app.state.engine.dispose()
