"""Read the access log as Arrow record batches, fast: ADBC's C drivers in a reader process.

SQLite and PostgreSQL hub databases are read by ADBC (``adbc-driver-sqlite``, with its own
recent SQLite, and ``adbc-driver-postgresql``, which streams ``COPY … BINARY``): rows become
Arrow columns in C, about 2.5 µs an entry where Python's DB-API costs 5–6 µs. The driver
runs in a child process (``python -m exchange.audit.arrow``) that streams the batches back
as Arrow IPC over a pipe, for two reasons:

- ADBC's SQLite is a second copy of SQLite; two copies in one process that both open the
  hub database break each other's POSIX locks (closing one's file descriptor drops the
  other's locks) and can corrupt it. The reader process holds only ADBC's copy;
- reading then runs on one core while the caller checks and writes on the other.

Any other URL (an in-memory SQLite, a URL with a query string) is read in process through
SQLAlchemy instead: slower, the same batches. The columns are ``COLUMNS`` as stored: ``at``
as text on SQLite (``2026-11-02 00:00:02.400000``) or a UTC timestamp on PostgreSQL, list
fields as their canonical JSON text, integers as integers. Batches come in ``seq`` order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Text, select, type_coerce
from sqlalchemy.engine import Engine

from exchange.audit.rules import ENTRY_FIELDS, LIST_FIELDS, first_broken_link

COLUMNS = (*ENTRY_FIELDS, "entry_hash", "chain_hash")
INTEGERS = frozenset({"seq", "policy_version", "outcome", "record_count", "latency_ms"})
BATCH_ROWS = 65_536


def adbc_uri(engine: Engine) -> str | None:
    """Return the ADBC URI of the engine's database, or None if ADBC cannot open it."""
    url = engine.url
    if url.query:
        return None
    if engine.dialect.name == "sqlite":
        database = url.database or ""
        return database if database and database != ":memory:" else None
    if engine.dialect.name == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


class BrokenLog(ValueError):
    """The entries read are not the complete, linked range asked for (or not readable)."""


@contextmanager
def entry_batches(
    engine: Engine, lo: int, hi: int, *, chain_before: str, batch_rows: int = BATCH_ROWS
) -> Iterator[Iterator[pa.RecordBatch]]:
    """Open entries ``lo..hi`` as an iterator of record batches of ``COLUMNS``, in seq order.

    The batches come checked (``check_batch``): complete from ``lo`` on and every chain
    link holding, starting from ``chain_before`` (the stored chain hash at ``lo - 1``).
    Raises ``BrokenLog`` after the batches that were fine if one is not, if the range
    ends short of ``hi``, or if the reader fails (e.g. a stored value of the wrong type).
    """
    uri = adbc_uri(engine)
    if uri is None:
        yield _checked(_sqlalchemy_batches(engine, lo, hi, batch_rows), lo, hi, chain_before)
        return
    spec = {
        "dialect": engine.dialect.name,
        "uri": uri,
        "lo": lo,
        "hi": hi,
        "chain_before": chain_before,
        "batch_rows": batch_rows,
    }
    with tempfile.TemporaryFile() as errors:
        reader = subprocess.Popen(
            [sys.executable, "-m", "exchange.audit.arrow"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert reader.stdin is not None and reader.stdout is not None
        try:
            reader.stdin.write(json.dumps(spec).encode())  # the URI may hold a password
            reader.stdin.close()
            yield _ipc_batches(reader, errors)
        finally:
            if reader.poll() is None:
                reader.kill()
            reader.stdout.close()
            reader.wait()


def _ipc_batches(reader: subprocess.Popen[bytes], errors: Any) -> Iterator[pa.RecordBatch]:
    try:
        with pa.ipc.open_stream(reader.stdout) as stream:
            yield from stream
    except pa.ArrowInvalid:
        pass  # the reader stopped early: its exit status and message tell why
    if reader.wait() != 0:
        errors.seek(0)
        lines = errors.read().decode(errors="replace").strip().splitlines()
        raise BrokenLog(lines[-1] if lines else f"the log reader exited {reader.returncode}")


def _checked(
    batches: Iterator[pa.RecordBatch], lo: int, hi: int, chain: str
) -> Iterator[pa.RecordBatch]:
    expected = lo
    for batch in batches:
        chain = check_batch(batch, expected, chain)
        expected += batch.num_rows
        yield batch
    if expected != hi + 1:
        raise BrokenLog(f"entries {expected}..{hi} are missing")


def check_batch(batch: pa.RecordBatch, expected: int, chain: str) -> str:
    """Check that ``batch`` holds entries ``expected…`` in order, each linked to the one before.

    ``chain``: the stored chain hash of entry ``expected - 1``. Returns the chain hash the
    batch ends on; raises ``BrokenLog`` naming the first entry that is missing or whose
    ``chain_hash`` does not follow.
    """
    seqs = batch.column("seq")
    n = batch.num_rows
    if seqs.null_count or (seqs[0].as_py(), seqs[n - 1].as_py()) != (expected, expected + n - 1):
        raise BrokenLog(f"entries from {expected} are not all there")
    entries, chains = batch.column("entry_hash"), batch.column("chain_hash")
    for column in (entries, chains):
        lengths = pc.min_max(pc.binary_length(column))
        if column.null_count or (lengths["min"].as_py(), lengths["max"].as_py()) != (64, 64):
            raise BrokenLog(f"malformed stored hashes in entries {expected}..{expected + n - 1}")
    stored = "".join(chains.to_pylist())
    try:
        broken = first_broken_link(chain, "".join(entries.to_pylist()), stored)
    except ValueError:
        raise BrokenLog(f"stored hashes that are not hex in entries from {expected}") from None
    if broken is not None:
        raise BrokenLog(f"the chain breaks at entry {expected + broken}")
    return stored[-64:]


def _sqlalchemy_batches(
    engine: Engine, lo: int, hi: int, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    from exchange.audit.repository import entries

    columns = [
        type_coerce(entries.c[c], Text) if c in LIST_FIELDS else entries.c[c] for c in COLUMNS
    ]
    stmt = select(*columns).where(entries.c.seq.between(lo, hi)).order_by(entries.c.seq)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(stmt)
        while rows := result.fetchmany(batch_rows):
            arrays = [
                pa.array(values, type=kind)
                for values, kind in zip(zip(*rows, strict=True), _TYPES, strict=True)
            ]
            yield pa.RecordBatch.from_arrays(arrays, names=list(COLUMNS))


_TYPES = [
    pa.timestamp("us", tz="UTC") if c == "at" else pa.int64() if c in INTEGERS else pa.string()
    for c in COLUMNS
]


# The reader process ---------------------------------------------------------------------


def _adbc_sql(dialect: str, lo: int, hi: int) -> str:
    """Return the query; on SQLite led by a typed row (seq 0) for ADBC's type inference.

    ADBC's SQLite driver infers each column's type from the first batch: a column that is
    NULL throughout it (a case id, a reason) would become int64 and fail on the first text.
    """
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    where = f"WHERE seq BETWEEN {int(lo)} AND {int(hi)} ORDER BY seq"
    rows = f"SELECT {names} FROM audit_entries {where}"  # noqa: S608 (fixed names, integers)
    if dialect != "sqlite":
        return rows
    typed = ", ".join(("0" if c in INTEGERS else "''") + f' AS "{c}"' for c in COLUMNS)
    return f"SELECT {typed} UNION ALL SELECT * FROM ({rows})"  # noqa: S608


def _serve() -> None:
    """Stream the entries a JSON spec on stdin names to stdout as Arrow IPC."""
    spec = json.loads(sys.stdin.read())
    try:
        _stream(spec)
    except (BrokenLog, pa.ArrowException, OSError) as exc:
        print(exc, file=sys.stderr)  # the caller's BrokenLog says this
        sys.exit(1)


def _stream(spec: dict[str, Any]) -> None:
    if spec["dialect"] == "sqlite":
        import adbc_driver_sqlite.dbapi as driver
    else:
        import adbc_driver_postgresql.dbapi as driver  # type: ignore[no-redef]
    with driver.connect(spec["uri"]) as conn, conn.cursor() as cursor:
        if spec["dialect"] == "sqlite":
            rows = str(spec["batch_rows"])
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": rows})
        cursor.execute(_adbc_sql(spec["dialect"], spec["lo"], spec["hi"]))
        batches = cursor.fetch_record_batch()
        with pa.ipc.new_stream(sys.stdout.buffer, batches.schema) as out:
            for batch in _checked(
                _untyped(batches, spec["dialect"]), spec["lo"], spec["hi"], spec["chain_before"]
            ):
                out.write_batch(batch)


def _untyped(batches: Iterator[pa.RecordBatch], dialect: str) -> Iterator[pa.RecordBatch]:
    """Drop the typed first row (SQLite) and empty batches."""
    typed_row = dialect == "sqlite"
    for batch in batches:
        if typed_row:
            if batch.num_rows == 0 or batch.column(COLUMNS.index("seq"))[0].as_py() != 0:
                raise BrokenLog("the typed first row did not come first")
            batch, typed_row = batch.slice(1), False
        if batch.num_rows:
            yield batch


if __name__ == "__main__":
    _serve()
