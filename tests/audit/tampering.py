"""What a forger with write access to the database does to the log (for the tamper tests).

The forger knows the algorithm (canonical form, hashes) and can recompute entry and chain
hashes, but holds neither the checkpoint key nor the hub secret.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from exchange.audit import repository, rules
from exchange.audit.rules import ENTRY_FIELDS

entries = repository.entries
checkpoints = repository.checkpoints
head = repository.head_table


def load(conn: Connection) -> list[dict[str, Any]]:
    """Return every entry as a dict of typed values, in seq order."""
    return [dict(r._mapping) for r in conn.execute(select(entries).order_by(entries.c.seq))]


def rehash(rows: list[dict[str, Any]], start: int) -> None:
    """Recompute entry and chain hashes from position ``start`` on, as a forger can."""
    chain = rows[start - 1]["chain_hash"] if start > 0 else rules.GENESIS
    for row in rows[start:]:
        row["entry_hash"] = rules.entry_hash(row)
        chain = row["chain_hash"] = rules.chain_hash(chain, row["entry_hash"])


def store(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Replace every entry with ``rows``."""
    conn.execute(delete(entries))
    if rows:
        conn.execute(insert(entries), rows)


def changed(value: Any, name: str) -> Any:
    """Return a different value of the same kind for field ``name``."""
    if name == "at":
        return value + timedelta(milliseconds=1)
    if name in rules.LIST_FIELDS:
        return [*value, 99 if name == "grant_ids" else "photo"]
    if name == "decision":
        return "allowed" if value != "allowed" else "denied"
    if isinstance(value, int):
        return value + 1
    return "forged" if value != "forged" else "forged again"


def edit(conn: Connection, *, index: int, name: str, recompute: bool) -> int:
    """Change one field of one entry; return the first bad seq verify must name (or 0)."""
    rows = load(conn)
    row = rows[index]
    seq = row["seq"]
    if name in ("entry_hash", "chain_hash"):
        recompute = False  # recomputing would only restore them
    if name == "seq":
        row["seq"] = rows[-1]["seq"] + 5  # moved past the end: a gap where it was
    else:
        row[name] = changed(row[name], name)
    if recompute:
        rehash(rows, index)
    store(conn, sorted(rows, key=lambda r: r["seq"]))
    return 0 if recompute else seq


def remove(conn: Connection, *, index: int, renumber: bool) -> None:
    """Delete one entry, optionally renumbering the rest and recomputing every hash."""
    rows = load(conn)
    del rows[index]
    if renumber:
        for i, row in enumerate(rows[index:], start=index):
            row["seq"] = i + 1
        rehash(rows, index)
    store(conn, rows)


def swap(conn: Connection, *, i: int, j: int, recompute: bool) -> None:
    """Exchange the contents of two entries (keeping their seq)."""
    rows = load(conn)
    a, b = rows[i], rows[j]
    for name in ENTRY_FIELDS:
        if name != "seq":
            a[name], b[name] = b[name], a[name]
    if recompute:
        rehash(rows, min(i, j))
    else:
        a["entry_hash"], b["entry_hash"] = b["entry_hash"], a["entry_hash"]
    store(conn, rows)


def forge_entry(conn: Connection, *, index: int) -> None:
    """Insert a forged entry at ``index`` (or append it), renumbering and rehashing after it."""
    rows = load(conn)
    template = dict(rows[min(index, len(rows) - 1)])
    template.update(subject_key="330102199912319999", purpose="forged", reason=None)
    rows.insert(index, template)
    for i, row in enumerate(rows[index:], start=index):
        row["seq"] = i + 1
    rehash(rows, index)
    store(conn, rows)


def truncate(conn: Connection, *, keep: int) -> None:
    """Cut the log after entry ``keep`` (the head and checkpoints left as they are)."""
    conn.execute(delete(entries).where(entries.c.seq > keep))


def edit_checkpoint(conn: Connection, *, index: int, name: str) -> None:
    """Change one column of one checkpoint row."""
    row = conn.execute(select(checkpoints).order_by(checkpoints.c.size)).all()[index]
    value = getattr(row, name)
    if name == "at":
        new: Any = value + timedelta(seconds=1)
    elif name == "signature":
        new = rules.b64url(secrets.token_bytes(64))
    elif name == "size":
        new = value + 1
    else:
        new = secrets.token_hex(32)
    conn.execute(update(checkpoints).where(checkpoints.c.size == row.size).values({name: new}))


def delete_checkpoint(conn: Connection, *, index: int) -> None:
    """Delete one checkpoint row."""
    row = conn.execute(select(checkpoints).order_by(checkpoints.c.size)).all()[index]
    conn.execute(delete(checkpoints).where(checkpoints.c.size == row.size))


def edit_head(conn: Connection, *, name: str) -> None:
    """Change one column of the signed head."""
    row = conn.execute(select(head)).one()
    value = getattr(row, name)
    new = value + 1 if isinstance(value, int) else secrets.token_hex(32)
    conn.execute(update(head).values({name: new}))


def own_key(conn: Connection) -> tuple[str, Ed25519PrivateKey]:
    """Insert a key of the forger's own, as if it were the hub's (no hub secret to hand)."""
    private = Ed25519PrivateKey.generate()
    kid = f"audit-forged-{secrets.token_hex(4)}"
    conn.execute(
        insert(repository.keys).values(
            kid=kid,
            public_jwk=rules.public_jwk(kid, private.public_key()),
            private_key_encrypted="gAAAAAforged",
            created_at=rules.ms(conn.execute(select(head.c.at)).scalar_one()),
        )
    )
    return kid, private


def resign_everything(conn: Connection, *, index: int) -> None:
    """Rewrite from entry ``index``, then re-sign every checkpoint and the head with own key."""
    rows = load(conn)
    rows[index]["purpose"] = "forged"
    rehash(rows, index)
    store(conn, rows)
    kid, private = own_key(conn)
    chain = {r["seq"]: r["chain_hash"] for r in rows}
    previous = None
    cps = conn.execute(select(checkpoints).order_by(checkpoints.c.size)).all()
    conn.execute(delete(checkpoints))
    for cp in cps:
        statement = rules.checkpoint_statement(
            size=cp.size, chain_head=chain[cp.size], at=cp.at, previous=previous, key_id=kid
        )
        digest = rules.statement_hash(statement)
        conn.execute(
            insert(checkpoints).values(
                size=cp.size,
                chain_head=chain[cp.size],
                at=cp.at,
                previous=previous,
                key_id=kid,
                signature=rules.sign(private, statement),
                statement_hash=digest,
            )
        )
        previous = digest
    h = conn.execute(select(head)).one()
    size = rows[-1]["seq"]
    statement = rules.head_statement(
        size=size,
        chain_head=chain[size],
        at=h.at,
        key_id=kid,
        checkpoint_size=cps[-1].size,
        checkpoint=previous,
    )
    conn.execute(
        update(head).values(
            chain_head=chain[size],
            key_id=kid,
            checkpoint_hash=previous,
            signature=rules.sign(private, statement),
        )
    )
