"""Helpers for the access-log tests: records, logs, and the DBA's way around append-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from exchange.audit.log import AuditLog
from exchange.audit.records import AuditRecord
from exchange.core.settings import Settings

DECISIONS = ["allowed", "allowed", "allowed", "partial", "denied", "source_error"]


def record(i: int, **overrides: Any) -> AuditRecord:
    """Return a plausible record, varied by ``i``."""
    decision = DECISIONS[i % len(DECISIONS)]
    values: dict[str, Any] = {
        "decision": decision,
        "outcome": {"allowed": 200, "partial": 200, "denied": 403, "source_error": 503}[decision],
        "request_id": f"req-{i:06d}",
        "system": f"zj-d{i % 3}-window",
        "department": f"zj-d{i % 3}",
        "token_jti": f"jti-{i:08d}",
        "provider": "zj-gat",
        "resource_code": f"301001001/00000{i % 4}",
        "resource_version": "1.0",
        "items_requested": ["name", "id_number"],
        "items_returned": [] if decision in ("denied", "source_error") else ["name"],
        "subject_key": f"3301021990010{i % 50:05d}",
        "purpose": f"330000-GA-00{i % 5}",
        "case_id": None if i % 7 == 0 else f"CASE-{i:05d}",
        "grant_ids": [i % 9 + 1],
        "reason": None if decision == "allowed" else "address 不在授权范围",
        "policy_version": i // 10,
        "record_count": 0 if decision in ("denied", "source_error") else 1,
        "latency_ms": i % 40,
        "response_hash": f"{i:064x}",
    }
    values.update(overrides)
    return AuditRecord(**values)


def audit_settings(settings: Settings, **overrides: Any) -> Settings:
    """Return ``settings`` with access-log options changed."""
    return settings.model_copy(update=overrides)


def make_log(settings: Settings, **overrides: Any) -> AuditLog:
    """Return an AuditLog on the test database with the given options."""
    options = audit_settings(settings, **overrides)
    return AuditLog(options.effective_database_url, options)


def checkpoint_dir(settings: Settings) -> Path:
    """Return where a test log writes its checkpoint files."""
    return settings.audit_checkpoint_dir or settings.data_dir / "checkpoints"


def allow_tampering(conn: Connection) -> None:
    """Do what a DBA can: switch off the append-only triggers (PostgreSQL: this transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for table in ("audit_entries", "audit_checkpoints", "audit_keys"):
            for event in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{event}"))
