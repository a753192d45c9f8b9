"""The signed part of verification: keys, checkpoints, the head and a witness's copies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from exchange.audit import checkpoints, repository
from exchange.audit.findings import Problem, VerifyResult
from exchange.audit.keys import trusted_keys
from exchange.audit.rules import GENESIS, head_statement, public_from_jwk, signature_valid


def check_signed(
    conn: Connection, result: VerifyResult, *, secret: str | None, witness_dir: Path | None
) -> None:
    """Check keys, checkpoints, the head and the witness's checkpoints."""
    trusted, refused = trusted_keys(conn, secret)
    result.problems += [Problem(None, "key", why) for why in refused]
    witness_docs: list[dict[str, Any]] = []
    if witness_dir is not None:
        witness_docs, witness_jwks, unreadable = checkpoints.read_witness(witness_dir)
        result.problems += [Problem(None, "witness_file", f"unreadable: {p}") for p in unreadable]
        if witness_jwks:
            trusted = _pin(trusted, witness_jwks, result)
    rows, head, result.size = _snapshot(conn)
    sizes = [r.size for r in rows] + [int(d["statement"]["size"]) for d in witness_docs]
    if head is not None:
        sizes.append(head.size)
    chain = repository.chain_at(conn, [s for s in sizes if 0 < s <= result.size])
    chain[0] = GENESIS
    size = result.size
    good, previous_hash, previous_at = 0, None, None
    for row in rows:
        result.checkpoints_checked += 1
        doc = checkpoints.document(row)
        where = row.size
        public = trusted.get(row.key_id)
        signed = public is not None and signature_valid(public, doc["statement"], row.signature)
        if not signed:
            result.problems.append(Problem(where, "checkpoint_signature", f"at size {row.size}"))
        if row.statement_hash != doc["hash"] or row.previous != previous_hash:
            result.problems.append(Problem(where, "checkpoint_link", f"at size {row.size}"))
        if previous_at is not None and row.at < previous_at:
            result.problems.append(Problem(where, "checkpoint_order", f"at size {row.size}"))
        if row.size > size:
            detail = f"checkpoint at size {row.size}, log ends at {size}"
            result.problems.append(Problem(size + 1, "log_truncated", detail))
        elif chain.get(row.size) != row.chain_head:
            detail = f"chain at {row.size} differs from the signed checkpoint"
            result.problems.append(Problem(good + 1, "checkpoint_mismatch", detail))
        elif signed:
            good = row.size
        previous_hash, previous_at = row.statement_hash, row.at
    _check_head(head, rows, trusted, chain, good, result)
    if witness_dir is not None:
        _check_witness(witness_docs, rows, trusted, chain, result)


def _snapshot(conn: Connection) -> tuple[list[Any], Any, int]:
    """Read checkpoints, head and log size as one consistent state of a live log.

    A commit writes entries, head and checkpoint together, but these are three reads: an
    append committed between them shows as a head that lags the entries. Read again then;
    a mismatch that persists is the log's own.
    """
    for attempt in range(5):
        rows = repository.checkpoint_rows(conn)
        head = repository.read_head(conn)
        size = repository.max_seq(conn) or 0
        last = rows[-1].size if rows else 0
        if head is None or (size == head.size and head.checkpoint_size == last):
            break
        conn.rollback()  # a fresh snapshot for the next read
        time.sleep(0.05 * (attempt + 1))
    return rows, head, size


def _pin(
    trusted: dict[str, Ed25519PublicKey], jwks: dict[str, dict[str, Any]], result: VerifyResult
) -> dict[str, Ed25519PublicKey]:
    """Trust only keys the witness holds too (its copies are the anchors)."""
    pinned: dict[str, Ed25519PublicKey] = {}
    for kid, jwk in jwks.items():
        try:
            public = public_from_jwk(jwk)
        except (ValueError, KeyError, TypeError):
            result.problems.append(Problem(None, "witness_file", f"key {kid} unreadable"))
            continue
        mine = trusted.get(kid)
        if mine is not None and mine.public_bytes_raw() != public.public_bytes_raw():
            result.problems.append(Problem(None, "key", f"key {kid} differs from the witness's"))
            continue
        pinned[kid] = public
    return pinned


def _check_head(
    head: Any,
    rows: list[Any],
    trusted: dict[str, Ed25519PublicKey],
    chain: dict[int, str],
    good: int,
    result: VerifyResult,
) -> None:
    size = result.size
    if head is None:
        if size:
            result.problems.append(Problem(1, "head_missing", "entries but no signed head"))
        return
    statement = head_statement(
        size=head.size,
        chain_head=head.chain_head,
        at=head.at,
        key_id=head.key_id or "",
        checkpoint_size=head.checkpoint_size,
        checkpoint=head.checkpoint_hash,
    )
    public = trusted.get(head.key_id or "")
    if public is None or not signature_valid(public, statement, head.signature or ""):
        result.problems.append(Problem(good + 1, "head_signature", "the head is not signed"))
    if head.size < size:
        detail = f"entries after the signed head ({head.size})"
        result.problems.append(Problem(head.size + 1, "unsigned_tail", detail))
    elif head.size > size:
        detail = f"the signed head says {head.size} entries, the log ends at {size}"
        result.problems.append(Problem(size + 1, "log_truncated", detail))
    elif chain.get(head.size) != head.chain_head:
        result.problems.append(Problem(good + 1, "head_mismatch", "chain differs from the head"))
    last = rows[-1] if rows else None
    if (last.size if last else 0) != head.checkpoint_size or (
        last.statement_hash if last else None
    ) != head.checkpoint_hash:
        detail = f"the head names checkpoint {head.checkpoint_size}; it is not the last one"
        result.problems.append(Problem(head.checkpoint_size or None, "checkpoint_missing", detail))


def _check_witness(
    docs: list[dict[str, Any]],
    rows: list[Any],
    trusted: dict[str, Ed25519PublicKey],
    chain: dict[int, str],
    result: VerifyResult,
) -> None:
    by_size = {row.size: checkpoints.document(row) for row in rows}
    size = result.size
    good = 0
    for doc in sorted(docs, key=lambda d: int(d["statement"]["size"])):
        result.witness_checkpoints += 1
        statement = doc["statement"]
        at_size = int(statement["size"])
        public = trusted.get(str(statement.get("key_id")))
        if public is None or not signature_valid(public, statement, str(doc.get("signature"))):
            result.problems.append(Problem(None, "witness_file", f"bad signature at {at_size}"))
            continue
        if at_size > size:
            detail = f"the witness holds checkpoint {at_size}, the log ends at {size}"
            result.problems.append(Problem(size + 1, "log_truncated", detail))
            continue
        mine = by_size.get(at_size)
        if mine is None or mine["statement"] != statement or mine["signature"] != doc["signature"]:
            detail = f"the witness's checkpoint {at_size} is not in the database as signed"
            result.problems.append(Problem(good + 1, "witness_mismatch", detail))
        if chain.get(at_size) != statement.get("chain_head"):
            detail = f"chain at {at_size} differs from the witness's checkpoint"
            result.problems.append(Problem(good + 1, "witness_mismatch", detail))
        else:
            good = at_size
