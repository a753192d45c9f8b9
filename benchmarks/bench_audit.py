"""The access log: append rate, verify rate and export time at 1,000,000 entries.

- append: entries committed per second through ``AuditLog.append`` by 16 threads, with one
  transaction per entry vs group commit (one appender thread batching what is queued),
  on SQLite and, when ``DATARUN_BENCH_POSTGRES_URL`` is set, on PostgreSQL; plus 2
  processes × 8 threads on PostgreSQL (one chain across processes);
- verify: ``verify_log`` over a 1,000,000-entry log (built fast: precomputed rows bulk
  inserted through Core in one transaction), with 1 process and with one per core; the
  baseline is SHA-256 over the same canonical bytes alone (no database, no formatting);
- export: ``export_log`` of the same 1,000,000 entries to Parquet (HMAC'd subject keys,
  chain-link check, lists parsed, signed manifest); the baseline is the plainest copy of
  the same rows: read through the same ADBC driver in one process and written to Parquet
  as stored (no check, no HMAC, no list parsing, no manifest, no second process).

Run: ``python -m benchmarks.bench_audit`` (``--quick``: 100,000 entries).
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from exchange.audit import keys, repository
from exchange.audit.log import AuditLog, AuditRecord
from exchange.audit.rules import (
    ENTRY_FIELDS,
    GENESIS,
    LIST_FIELDS,
    canonical_row,
    checkpoint_statement,
    head_statement,
    list_text,
    sign,
    statement_hash,
)
from exchange.core.db import make_engine
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings

DEPARTMENTS = [f"zj-d{i:02d}" for i in range(40)]
PROVIDERS = ["zj-gat", "zj-zrzyt", "zj-mzt", "zj-scjgj", "zj-swj", "zj-rst"]
RESOURCES = [f"30100{i % 10}001/{i:06d}" for i in range(60)]
PURPOSES = [f"330000-XK-{i:03d}" for i in range(80)]
ITEMS = ["name", "id_number", "address", "birth_date", "household", "photo"]
DECISIONS = ["allowed"] * 90 + ["partial"] * 4 + ["denied"] * 5 + ["source_error"]
SECRET = "benchmark-secret-benchmark-secret"
COLUMNS = (*ENTRY_FIELDS, "entry_hash", "chain_hash")


def _record(rng: random.Random, at: datetime) -> AuditRecord:
    decision = rng.choice(DECISIONS)
    asked = rng.sample(ITEMS, rng.randint(1, 4))
    returned = [] if decision in ("denied", "source_error") else asked[: rng.randint(1, len(asked))]
    department = rng.choice(DEPARTMENTS)
    return AuditRecord(
        decision=decision,  # type: ignore[arg-type]
        outcome={"allowed": 200, "partial": 200, "denied": 403, "source_error": 503}[decision],
        request_id=f"{rng.getrandbits(64):016x}",
        system=f"{department}-window",
        department=department,
        token_jti=f"{rng.getrandbits(128):032x}",
        provider=rng.choice(PROVIDERS),
        resource_code=rng.choice(RESOURCES),
        resource_version="1.0",
        items_requested=asked,
        items_returned=returned,
        subject_key=f"3301021990{rng.randrange(200_000):08d}",
        purpose=rng.choice(PURPOSES),
        case_id=None if rng.random() < 0.1 else f"CASE-{rng.randrange(10**8):08d}",
        grant_ids=[rng.randrange(1, 5000)],
        reason=None if decision == "allowed" else "items outside the grant",
        policy_version=rng.randrange(1, 500),
        record_count=0 if decision == "denied" else 1,
        latency_ms=rng.randrange(2, 80),
        response_hash=f"{rng.getrandbits(256):064x}",
        at=at,
    )


def build_log(url: str, count: int, *, checkpoint_every: int = 100_000, seed: int = 7) -> None:
    """Fill an empty, migrated hub database with ``count`` valid, signed entries, fast.

    Rows come from 4,096 random templates with per-row seq, time, subject, request id, jti
    and response hash; their hashes are computed as the hub does, and they are bulk
    inserted in one transaction through the connection's executemany (no ORM, no per-row
    type processing). One entry every 2.4 s from 2 November 2026.
    """
    rng = random.Random(seed)
    epoch = datetime(2026, 11, 2, tzinfo=UTC)
    templates = []
    for _ in range(4096):
        values = _record(rng, epoch).fields(0, epoch)
        row = [list_text(values[n]) if n in LIST_FIELDS else values.get(n) for n in COLUMNS]
        templates.append(row)
    i_at, i_seq, i_subject = COLUMNS.index("at"), COLUMNS.index("seq"), COLUMNS.index("subject_key")
    i_request, i_jti = COLUMNS.index("request_id"), COLUMNS.index("token_jti")
    i_response, i_entry, i_chain = (
        COLUMNS.index(n) for n in ("response_hash", "entry_hash", "chain_hash")
    )
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    marks = ", ".join(["%s" if pg else "?"] * len(COLUMNS))
    sql = f"INSERT INTO audit_entries ({', '.join(COLUMNS)}) VALUES ({marks})"
    days = [f"{epoch + timedelta(days=d):%Y-%m-%d}" for d in range(count * 2400 // 86_400_000 + 2)]
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    with engine.begin() as conn:
        key = keys.create_key(conn, SECRET)
        chain, batch = GENESIS, []
        previous: str | None = None
        for seq in range(1, count + 1):
            row = templates[(seq * 2654435761) % 4096].copy()
            millis = seq * 2400
            day, rest = divmod(millis, 86_400_000)
            hour, rest = divmod(rest, 3_600_000)
            minute, rest = divmod(rest, 60_000)
            second, milli = divmod(rest, 1000)
            clock = f"{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}"
            row[i_seq] = seq
            row[i_at] = f"{days[day]}T{clock}Z"
            row[i_subject] = f"3301021990{(seq * 7919) % 200_000:08d}"
            row[i_request] = f"{seq:016x}"
            row[i_jti] = f"{(seq * 0x9E3779B97F4A7C15) % 2**128:032x}"
            row[i_response] = f"{(seq * 0x9E3779B97F4A7C15) % 2**256:064x}"
            digest = sha256(canonical_row(row)).hexdigest()
            chain = sha256(fromhex(chain + digest)).hexdigest()
            row[i_entry], row[i_chain] = digest, chain
            if not pg:
                row[i_at] = f"{days[day]} {clock}000"  # SQLAlchemy's SQLite DATETIME text
            batch.append(row)
            if seq % checkpoint_every == 0 or seq == count:
                at = datetime.fromisoformat(f"{days[day]}T{clock}+00:00")
                previous = _checkpoint(conn, key, seq, chain, at, previous)
            if len(batch) == 50_000 or seq == count:
                conn.exec_driver_sql(sql, [tuple(r) for r in batch])
                batch = []
        statement = head_statement(
            size=count,
            chain_head=chain,
            at=at,
            key_id=key.kid,
            checkpoint_size=count,
            checkpoint=previous,
        )
        repository.save_head(
            conn,
            exists=False,
            size=count,
            chain_head=chain,
            at=at,
            key_id=key.kid,
            signature=sign(key.private, statement),
            checkpoint_size=count,
            checkpoint_hash=previous,
            checkpoint_at=at,
        )
    engine.dispose()


def _checkpoint(
    conn: Any, key: keys.SigningKey, size: int, chain: str, at: datetime, previous: str | None
) -> str:
    statement = checkpoint_statement(
        size=size, chain_head=chain, at=at, previous=previous, key_id=key.kid
    )
    repository.insert_checkpoint(
        conn,
        size=size,
        chain_head=chain,
        at=at,
        previous=previous,
        key_id=key.kid,
        signature=sign(key.private, statement),
        statement_hash=statement_hash(statement),
    )
    return statement_hash(statement)


def _append_rate(url: str, *, group: bool, seconds: float, threads: int = 16) -> float:
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        data_dir=Path(tempfile.mkdtemp(prefix="bench-audit-")),
        audit_checkpoint_every=1_000_000,
        audit_checkpoint_seconds=3600,
        audit_group_commit=group,
    )
    log = AuditLog(url, settings)
    rng = random.Random(1)
    record = _record(rng, datetime.now(UTC))
    log.append(record)
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            log.append(record)
            counts[i] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    log.close()
    return sum(counts) / elapsed


def run(count: int = 1_000_000, seconds: float = 3.0) -> list[str]:
    """Measure and return report lines."""
    lines = [f"access log (one hub process unless said otherwise; {os.cpu_count()} cores)"]
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in _append_targets(Path(tmp)):
            single = _append_rate(url, group=False, seconds=seconds)
            group = _append_rate(url, group=True, seconds=seconds)
            lines.append(f"  append {backend:<10} one transaction per entry   {single:>10,.0f} /s")
            lines.append(f"  append {backend:<10} group commit                {group:>10,.0f} /s")
        url = f"sqlite:///{Path(tmp) / 'big.db'}"
        upgrade(url)
        started = time.perf_counter()
        build_log(url, count)
        built = time.perf_counter() - started
        lines.append(f"  built {count:,} entries (precomputed, bulk insert) in {built:.1f} s")
        lines += _verify_lines(url, count)
        lines += _export_lines(url, count, Path(tmp))
    return lines


def _append_targets(tmp: Path) -> list[tuple[str, str]]:
    sqlite_url = f"sqlite:///{tmp / 'append.db'}"
    upgrade(sqlite_url)
    targets = [("sqlite", sqlite_url)]
    pg = os.environ.get("DATARUN_BENCH_POSTGRES_URL", "")
    if pg:
        engine = make_engine(pg)
        upgrade(pg)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_entries, audit_checkpoints, audit_head, audit_keys"))
        engine.dispose()
        targets.append(("postgresql", pg))
    return targets


def _verify_lines(url: str, count: int) -> list[str]:
    from exchange.audit.verify import verify_log

    engine = make_engine(url)
    lines = []
    for workers in (1, os.cpu_count() or 1):
        cpu = _cpu_seconds()
        result = verify_log(engine, secret=SECRET, workers=workers)
        cpu = _cpu_seconds() - cpu
        assert result.ok, result.problems[:3]
        lines.append(
            f"  verify {count:,} entries, {workers} process(es)   {result.rate:>10,.0f} /s"
            f"   ({result.seconds:.2f} s; {cpu * 1e6 / count:.1f} µs CPU an entry)"
        )
    # Baseline: SHA-256 of the same canonical bytes, already in memory (no DB, no formatting).
    with engine.connect() as conn:
        stmt = repository.verify_select(conn.dialect.name)
        assert stmt is not None
        blobs = [r[1].encode() for r in conn.execute(stmt.limit(200_000))]
    started = time.perf_counter()
    for b in blobs:
        hashlib.sha256(b).hexdigest()
    base = len(blobs) / (time.perf_counter() - started)
    lines.append(f"  baseline: SHA-256 of the canonical bytes alone     {base:>10,.0f} /s")
    engine.dispose()
    return lines


def _export_lines(url: str, count: int, tmp: Path) -> list[str]:
    from exchange.audit.export import export_log

    engine = make_engine(url)
    started, cpu = time.perf_counter(), _cpu_seconds()
    result = export_log(engine, secret=SECRET, out_dir=tmp / "exports")
    ours, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    assert result.rows == count
    started, base_cpu = time.perf_counter(), _cpu_seconds()
    _plain_copy(engine, tmp / "plain.parquet")
    base, base_cpu = time.perf_counter() - started, _cpu_seconds() - base_cpu
    engine.dispose()
    size = result.parquet.stat().st_size / 1e6
    return [
        f"  export {count:,} entries to Parquet ({size:.0f} MB), HMAC, link check,"
        f" signed manifest  {ours:.1f} s ({cpu:.1f} s CPU)",
        f"  baseline: the same rows read by ADBC and written to Parquet as stored  {base:.1f} s"
        f" ({base_cpu:.1f} s CPU)   ratio {ours / base:.2f}",
    ]


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (verify's workers, readers)."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


_PLAIN = """
import sys, adbc_driver_sqlite.dbapi as driver, pyarrow.parquet as pq
with driver.connect(sys.argv[1]) as conn, conn.cursor() as cursor:
    cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "65536"})
    cursor.execute(sys.argv[2])
    batches = cursor.fetch_record_batch()
    with pq.ParquetWriter(sys.argv[3], batches.schema, compression="snappy") as out:
        for batch in batches:
            out.write_batch(batch)
"""


def _plain_copy(engine: Any, target: Path) -> None:
    """The same transfer with nothing of ours (its own process: ADBC's SQLite is a second
    copy of SQLite, which must not open a file this process has open)."""
    from exchange.audit.arrow import _adbc_sql

    sql = _adbc_sql("sqlite", 1, 10**15)  # with its typed first row, as the export reads
    subprocess.run(
        [sys.executable, "-c", _PLAIN, engine.url.database, sql, str(target)], check=True
    )


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print("\n".join(run(count=100_000 if quick else 1_000_000, seconds=2.0 if quick else 3.0)))
