"""Checkpoint files outside the database, where a witness (the auditors' system) keeps them.

Layout of the checkpoint directory (``DATARUN_AUDIT_CHECKPOINT_DIR``, default
``data_dir/checkpoints``)::

    keys/<kid>.json                         the public checkpoint key (RFC 8037 JWK)
    <YYYY-MM-DD>/checkpoint-<size>.json     {"statement": {...}, "signature": "...",
                                             "hash": "<SHA-256 of the canonical statement>"}

A witness copies the directory (rsync, or ``GET /v1/audit/checkpoints``) and later runs
``datarun audit verify --witness-dir DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from exchange.audit.rules import checkpoint_statement, statement_hash
from exchange.core.settings import Settings

log = logging.getLogger("datarun.audit")


def checkpoint_dir(settings: Settings) -> Path:
    """Return where checkpoint files are written."""
    return settings.audit_checkpoint_dir or settings.data_dir / "checkpoints"


def document(row: Any) -> dict[str, Any]:
    """Return the file form of a checkpoint row: statement, signature and statement hash."""
    statement = checkpoint_statement(
        size=row.size,
        chain_head=row.chain_head,
        at=row.at,
        previous=row.previous,
        key_id=row.key_id,
    )
    return {"statement": statement, "signature": row.signature, "hash": statement_hash(statement)}


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def write_key(directory: Path, jwk: dict[str, Any]) -> None:
    """Write the public checkpoint key file if it is not there yet."""
    path = directory / "keys" / f"{jwk['kid']}.json"
    if not path.exists():
        _write_atomically(path, jwk)


def write_checkpoint(directory: Path, doc: dict[str, Any]) -> Path:
    """Write one checkpoint file (idempotent) and return its path."""
    statement = doc["statement"]
    path = directory / statement["at"][:10] / f"checkpoint-{statement['size']:012d}.json"
    if not path.exists():
        _write_atomically(path, doc)
    return path


def publish(directory: Path, docs: list[dict[str, Any]], jwks: list[dict[str, Any]]) -> None:
    """Write checkpoint and key files; a failure is logged, never raised (the DB has them)."""
    try:
        for jwk in jwks:
            write_key(directory, jwk)
        for doc in docs:
            write_checkpoint(directory, doc)
    except OSError as exc:
        log.error("cannot write checkpoint files to %s: %s", directory, exc)


Witness = tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]


def read_witness(directory: Path) -> Witness:
    """Read a witness directory: its checkpoint documents, its keys, and unreadable files."""
    docs: list[dict[str, Any]] = []
    jwks: dict[str, dict[str, Any]] = {}
    unreadable: list[str] = []
    for path in sorted(_files(directory, "keys/*.json")):
        try:
            jwk = json.loads(path.read_text(encoding="utf-8"))
            jwks[str(jwk["kid"])] = jwk
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(str(path))
    for path in sorted(_files(directory, "*/checkpoint-*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            int(doc["statement"]["size"])
            docs.append(doc)
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(str(path))
    return docs, jwks, unreadable


def _files(directory: Path, pattern: str) -> Iterator[Path]:
    return (p for p in directory.glob(pattern) if p.is_file())
