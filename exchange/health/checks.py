"""What readiness checks: the hub database (answers, migrated to head) and the access log.

Each check is a blocking function returning a short status text or raising; ``/readyz``
runs them in threads, each within ``ready_timeout_seconds``. Failure texts name the
exception type only: a driver's message may quote a host or a connection string.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text

from exchange.audit.checkpoints import checkpoint_dir
from exchange.core.migrate import alembic_config


class NotReady(Exception):
    """A check found the hub unable to serve; the message says why (no secrets)."""


@lru_cache(maxsize=1)
def schema_heads() -> frozenset[str]:
    """Return the migration heads this code expects (empty if the scripts are not here)."""
    try:
        return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    except Exception:
        return frozenset()


def database(state: Any) -> str:
    """Check that the hub database answers and is migrated to this code's head."""
    with state.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    heads = schema_heads()
    if heads and version not in heads:
        raise NotReady(f"schema at {version}, this hub needs {', '.join(sorted(heads))}")
    return str(version)


def audit_log(state: Any) -> str:
    """Check that the access log's own connection reaches its head row."""
    raw = state.audit.engine.raw_connection()
    try:
        cursor = raw.cursor()
        # A plain read on the driver connection: the log's engine opens every transaction
        # with BEGIN IMMEDIATE on SQLite, and a probe must not queue for the write lock.
        cursor.execute("SELECT count(*) FROM audit_head")
        cursor.fetchall()
        cursor.close()
    finally:
        raw.close()
    return "ok"


def checkpoints(state: Any) -> str:
    """Check that the checkpoint directory exists (or can be made) and is writable."""
    where: Path = checkpoint_dir(state.settings)
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise NotReady("the checkpoint directory is not writable")
    return "ok"


CHECKS = {"database": database, "audit_log": audit_log, "checkpoints": checkpoints}
