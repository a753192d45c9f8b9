"""Queries of the access log: the append lock, head, entries, checkpoints, keys and search.

Writes and verification use Core on a ``Connection`` (no ORM objects on the hot paths);
the search API uses the request's ``Session``. There is no update or delete of an entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    TextClause,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditKey
from exchange.audit.rules import ENTRY_FIELDS, LIST_FIELDS
from exchange.core.db import make_engine

entries = cast(Table, AuditEntry.__table__)
checkpoints = cast(Table, AuditCheckpoint.__table__)
head_table = cast(Table, AuditHead.__table__)
keys = cast(Table, AuditKey.__table__)
HEAD_ID = 1
# pg_advisory_xact_lock key shared by every hub process: "DRAUDIT" in ASCII.
PG_LOCK_KEY = 0x4452415544495400


def lock(conn: Connection) -> None:
    """Take the log's append lock for this transaction (one writer at a time, all processes).

    PostgreSQL: a transaction-level advisory lock. SQLite: the audit engine opens every
    transaction with ``BEGIN IMMEDIATE``, which already holds the database's write lock.
    Others: ``SELECT … FOR UPDATE`` on the head row.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))
    elif dialect != "sqlite":
        conn.execute(select(head_table.c.id).where(head_table.c.id == HEAD_ID).with_for_update())


def read_head(conn: Connection) -> Row[Any] | None:
    """Return the head row, or None before the first append."""
    return conn.execute(select(head_table).where(head_table.c.id == HEAD_ID)).first()


def lock_head(conn: Connection) -> Row[Any] | None:
    """Take the append lock and return the chain head read inside it (None: empty log).

    One round trip where the head row exists: ``SELECT … FOR UPDATE`` waits for the
    holder's commit and then returns the row as that commit left it (PostgreSQL's READ
    COMMITTED re-reads a row it had to wait for). Before the first append there is no row
    to lock, so the advisory lock serialises the processes racing to write the first one.
    """
    if conn.dialect.name == "sqlite":  # BEGIN IMMEDIATE already holds the write lock
        return read_head(conn)
    stmt = select(head_table).where(head_table.c.id == HEAD_ID).with_for_update()
    head = conn.execute(stmt).first()
    if head is None:
        lock(conn)
        head = conn.execute(stmt).first()
    return head


class Head(NamedTuple):
    """The head as an append needs it."""

    size: int
    chain_head: str
    checkpoint_size: int
    checkpoint_hash: str | None
    checkpoint_at: datetime | None


_HEAD_SQL = (
    "SELECT size, chain_head, checkpoint_size, checkpoint_hash, checkpoint_at "
    "FROM audit_head WHERE id = 1"
)
ENTRY_COLUMNS = (*ENTRY_FIELDS, "entry_hash", "chain_hash")


def _to_db(conn: Connection, at: datetime) -> Any:
    """A time as the driver takes it: SQLite keeps SQLAlchemy's text form of UTC."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        if at.year >= 1000:  # the same text as the format below, from C
            return at.isoformat(sep=" ", timespec="microseconds")[:26]
        return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}"
    return at


def _from_db(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def head_for_append(conn: Connection) -> Head | None:
    """``lock_head`` on the append path: the same lock and row, read through the driver.

    The append transaction runs a handful of statements per commit; sent as prepared
    driver SQL they skip SQLAlchemy's per-statement compilation and processing.
    """
    row: Any = None
    if conn.dialect.name in ("sqlite", "postgresql"):
        cursor = conn.connection.cursor()
        try:
            lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
            cursor.execute(_HEAD_SQL + lock)
            row = cursor.fetchone()
        finally:
            cursor.close()
    if row is None and conn.dialect.name != "sqlite":
        # Another database, or the first append: the lock as lock_head takes it.
        full = lock_head(conn)
        if full is not None:
            row = (full.size, full.chain_head, full.checkpoint_size, full.checkpoint_hash)
            row += (full.checkpoint_at,)
    if row is None:
        return None
    return Head(row[0], row[1], row[2], row[3], _from_db(row[4]))


def insert_rows(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert entries given as value lists in ``ENTRY_COLUMNS`` order (``at`` aware UTC).

    On PostgreSQL through ``COPY … FROM STDIN`` (psycopg writes the rows in C; its
    ``executemany`` runs a pipeline whose loop held the GIL for ~40 % of the appender's time
    on the record-pull path: README, "Audited pulls end to end"); on SQLite through the
    driver's ``executemany``; elsewhere through SQLAlchemy.
    """
    if conn.dialect.name not in ("sqlite", "postgresql"):
        insert_entries(conn, [dict(zip(ENTRY_COLUMNS, r, strict=True)) for r in rows])
        return
    at = ENTRY_COLUMNS.index("at")
    values = [(*r[:at], _to_db(conn, r[at]), *r[at + 1 :]) for r in rows]
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(_COPY_SQL) as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cursor.executemany(_INSERT_SQL, values)
    finally:
        cursor.close()


_COPY_SQL = f"COPY audit_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
_INSERT_SQL = (
    f"INSERT INTO audit_entries ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join(['?'] * len(ENTRY_COLUMNS))})"
)


_HEAD_VALUES = (
    "size",
    "chain_head",
    "at",
    "key_id",
    "signature",
    "checkpoint_size",
    "checkpoint_hash",
    "checkpoint_at",
)


def update_head(conn: Connection, **values: Any) -> None:
    """Rewrite the existing head row (``save_head(exists=True)``), through the driver."""
    if conn.dialect.name not in ("sqlite", "postgresql"):
        save_head(conn, exists=True, **values)
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        f"UPDATE audit_head SET {', '.join(f'{n} = {mark}' for n in _HEAD_VALUES)} "  # noqa: S608
        "WHERE id = 1"
    )
    params = [
        _to_db(conn, values[n]) if n in ("at", "checkpoint_at") and values[n] else values[n]
        for n in _HEAD_VALUES
    ]
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
    finally:
        cursor.close()


def save_head(conn: Connection, *, exists: bool, **values: Any) -> None:
    """Write the head row (insert it on the first append)."""
    if exists:
        conn.execute(update(head_table).where(head_table.c.id == HEAD_ID).values(**values))
    else:
        conn.execute(insert(head_table).values(id=HEAD_ID, **values))


def max_seq(conn: Connection) -> int | None:
    """Return the highest sequence number stored, or None for an empty log."""
    return conn.execute(select(func.max(entries.c.seq))).scalar()


# The same table for the append path, its list columns taking their canonical text as is
# (already serialized to be hashed): no per-row JSON encoding on the way in.
_raw_entries = Table(
    "audit_entries",
    MetaData(),
    *[
        Column(c.name, Text() if c.name in LIST_FIELDS else c.type, primary_key=c.primary_key)
        for c in entries.columns
    ],
)


def insert_entries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert entries whose list fields are already canonical JSON text (one executemany)."""
    conn.execute(insert(_raw_entries), list(rows))


def insert_checkpoint(conn: Connection, **values: Any) -> None:
    """Insert one checkpoint row."""
    conn.execute(insert(checkpoints).values(**values))


def checkpoint_rows(
    conn: Connection, *, after: int | None = None, limit: int | None = None
) -> list[Row[Any]]:
    """Return checkpoints in size order, optionally those after ``after`` only."""
    stmt = select(checkpoints).order_by(checkpoints.c.size)
    if after is not None:
        stmt = stmt.where(checkpoints.c.size > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt))


def chain_at(conn: Connection, seqs: Iterable[int]) -> dict[int, str]:
    """Return the stored chain hash at each of ``seqs`` that exists."""
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        stmt = select(entries.c.seq, entries.c.chain_hash).where(
            entries.c.seq.in_(wanted[i : i + 500])
        )
        found.update({seq: chain for seq, chain in conn.execute(stmt)})
    return found


def insert_key(conn: Connection, **values: Any) -> None:
    """Store a checkpoint key."""
    conn.execute(insert(keys).values(**values))


def newest_key(conn: Connection) -> Row[Any] | None:
    """Return the newest checkpoint key, or None if there is none yet."""
    return conn.execute(select(keys).order_by(keys.c.created_at.desc()).limit(1)).first()


def all_keys(conn: Connection) -> list[Row[Any]]:
    """Return every checkpoint key, oldest first."""
    return list(conn.execute(select(keys).order_by(keys.c.created_at)))


_INT_FIELDS = frozenset({"latency_ms", "outcome", "policy_version", "record_count", "seq"})
_PG_AT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


def _canonical_sql(dialect: str) -> str | None:
    """Return SQL that builds each row's canonical form in the database, or None if unknown.

    SQLite's JSON functions and PostgreSQL's ``to_json`` escape text exactly as Python's
    ``json.dumps(ensure_ascii=False)`` does (short escapes for backspace, tab, newline,
    form feed and carriage return, ``\\u00xx`` for other controls, nothing else), so the
    verifier fetches one string per entry instead of 22 values and never formats a value
    in Python (the tests check both agree with ``rules.canonical_entry`` on any text).
    A list field that is not valid JSON makes the query fail: ``python_select`` then.
    """
    if dialect == "sqlite":
        args = []
        for name in ENTRY_FIELDS:
            if name == "at":
                value = "strftime('%Y-%m-%dT%H:%M:%fZ', at)"
            else:
                value = f"json({name})" if name in LIST_FIELDS else name
            args.append(f"'{name}', {value}")
        return f"json_object({', '.join(args)})"
    if dialect != "postgresql":
        return None
    parts = []
    for i, name in enumerate(ENTRY_FIELDS):
        key = ("{" if i == 0 else ",") + f'"{name}":'
        if name == "at":
            value = f"to_json({_PG_AT})::text"
        elif name in LIST_FIELDS:
            value = name
        elif name in _INT_FIELDS:
            value = f"coalesce({name}::text, 'null')"
        else:
            value = f"coalesce(to_json({name})::text, 'null')"
        parts.append(f"'{key}' || {value}")
    return " || ".join(parts) + " || '}'"


def verify_select(dialect: str) -> Select[Any] | None:
    """Select ``seq``, the canonical form, ``entry_hash``, ``chain_hash`` in seq order.

    None for a database with no canonical-form expression (use ``python_select``).
    """
    sql = _canonical_sql(dialect)
    if sql is None:
        return None
    canonical = literal_column(sql, String)
    return select(entries.c.seq, canonical, entries.c.entry_hash, entries.c.chain_hash).order_by(
        entries.c.seq
    )


def verify_batch_sql(dialect: str) -> TextClause | None:
    """Return SQL that hands over entries ``:lo..:hi`` in one row, for verify's fast path.

    Columns: count, min and max seq, how many rows have two 64-character hashes, the
    canonical forms joined by newlines (bytes on SQLite), and ``entry_hash || chain_hash``
    of every row concatenated, all in seq order: one fetch per few thousand entries
    instead of a Python row each. None where SQL cannot build the canonical form.
    """
    canonical = _canonical_sql(dialect)
    if canonical is None:
        return None
    shaped = "sum(CASE WHEN length(entry_hash) = 64 AND length(chain_hash) = 64 THEN 1 END)"
    where = "WHERE seq BETWEEN :lo AND :hi"
    if dialect == "sqlite":  # group_concat follows the rowid scan (3.40 has no ORDER BY in it)
        joined = (
            f"CAST(group_concat({canonical}, char(10)) AS BLOB), "
            "group_concat(entry_hash || chain_hash, '')"
        )
    else:
        joined = (
            f"string_agg({canonical}, E'\\n' ORDER BY seq), "
            "string_agg(entry_hash || chain_hash, '' ORDER BY seq)"
        )
    return text(
        f"SELECT count(*), min(seq), max(seq), {shaped}, {joined} "  # noqa: S608
        f"FROM audit_entries {where}"
    )


def python_select() -> Select[Any]:
    """Select the hashed fields raw (``ENTRY_FIELDS`` order), then the two hashes, by seq."""
    columns = [
        type_coerce(entries.c[n], Text if n in LIST_FIELDS else String)
        if n in LIST_FIELDS or n == "at"
        else entries.c[n]
        for n in ENTRY_FIELDS
    ]
    return select(*columns, entries.c.entry_hash, entries.c.chain_hash).order_by(entries.c.seq)


# Search (the auditors' API and CLI) ------------------------------------------------------


def search_entries(
    session: Session,
    *,
    filters: dict[str, Any],
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
    newest_first: bool = True,
) -> tuple[list[AuditEntry], int]:
    """Return one page of entries matching ``filters`` (column → value) and the total."""
    conditions: list[ColumnElement[bool]] = [
        getattr(AuditEntry, column) == value for column, value in filters.items()
    ]
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    if until is not None:
        conditions.append(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq.asc()
    stmt = select(AuditEntry).where(*conditions).order_by(order).offset(offset).limit(limit)
    return list(session.scalars(stmt)), total


def get_entry(session: Session, seq: int) -> AuditEntry | None:
    """Return the entry with sequence number ``seq``."""
    return session.get(AuditEntry, seq)


def make_audit_engine(url: str) -> Engine:
    """Return the log's own engine; on SQLite every transaction is ``BEGIN IMMEDIATE``."""
    if not url.startswith("sqlite"):
        return make_engine(url, pool_size=2, max_overflow=2)
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event opens them

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        # Straight to the driver: through exec_driver_sql this cost a fifth of a commit.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine
