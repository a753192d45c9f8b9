"""Export the access log to Parquet with subject keys as HMACs, plus a signed manifest.

The rows stream from the hub database as JSON lines built by the database itself
(SQLite ``json_object``, PostgreSQL ``COPY … TO STDOUT``) through a named pipe into an
in-memory DuckDB table, so no raw subject key ever touches a file. DuckDB checks that
the range is complete and every chain link holds, replaces each subject key by
HMAC-SHA256 under a key derived from the hub secret (computed once per distinct
subject: one subject's accesses still group together, the export carries no raw ID),
parses the list fields and writes one Parquet file. The manifest
``audit-<from>-<to>.manifest.json`` names the range, the chain heads before and at its
end, the file's SHA-256 and the previous manifest's hash, signed with the checkpoint key.
Each export continues from the last manifest in the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.engine import Engine

from exchange.audit import checkpoints, repository
from exchange.audit.keys import Signer
from exchange.audit.rules import (
    ENTRY_FIELDS,
    GENESIS,
    LOG_ID,
    canonical_json,
    export_key,
    format_at,
    hmac_pads,
    sign,
    statement_hash,
)
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, InvalidInput

# The streamed columns and their DuckDB types (text stays text until DuckDB parses it).
COLUMNS = (*ENTRY_FIELDS, "entry_hash", "chain_hash")
INTEGERS = frozenset({"seq", "policy_version", "outcome", "record_count", "latency_ms"})


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    parquet: Path
    manifest: Path
    from_seq: int
    to_seq: int
    rows: int


def _source_sql(dialect: str, lo: int, hi: int) -> str:
    """Return SQL yielding one JSON object per entry, built by the database (in C)."""
    if dialect == "postgresql":
        args = [
            f"'{c}', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')"
            if c == "at"
            else f"'{c}', {c}"
            for c in COLUMNS
        ]
        function = "json_build_object"
    else:
        args = [f"'{c}', {c}" for c in COLUMNS]  # SQLite keeps ``at`` as ISO text already
        function = "json_object"
    # Only fixed column names and two integers go into this SQL.
    where = f"WHERE seq BETWEEN {int(lo)} AND {int(hi)} ORDER BY seq"
    return f"SELECT {function}({', '.join(args)}) FROM audit_entries {where}"  # noqa: S608


def _stream(engine: Engine, fifo: Path, lo: int, hi: int, errors: list[BaseException]) -> None:
    """Write the range as JSON lines into the pipe (runs in a thread)."""
    try:
        raw = engine.raw_connection()
        try:
            cursor: Any = raw.cursor()
            sql = _source_sql(engine.dialect.name, lo, hi)
            if engine.dialect.name == "postgresql":
                # CSV with a quote and delimiter JSON text never holds raw: lines come out as is.
                copy = cursor.copy(
                    f"COPY ({sql}) TO STDOUT (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
                )
                with open(fifo, "wb") as out, copy as rows:
                    for chunk in rows:
                        out.write(chunk)
            else:
                cursor.execute(sql)
                with open(fifo, "w", encoding="utf-8", buffering=1 << 20) as out:
                    while rows := cursor.fetchmany(10_000):
                        out.write("\n".join([r[0] for r in rows]))
                        out.write("\n")
        finally:
            raw.close()
    except BaseException as exc:  # reported by the exporter, which then refuses the file
        errors.append(exc)


def _load_sql(fifo: Path) -> str:
    types = ", ".join(f"'{c}': '{'BIGINT' if c in INTEGERS else 'VARCHAR'}'" for c in COLUMNS)
    source = f"read_json('{fifo}', format='newline_delimited', columns={{{types}}})"
    return f"CREATE TABLE r AS SELECT * FROM {source}"  # noqa: S608 (fixed names, our pipe)


def _hmac_sql(key: bytes) -> str:
    ipad, opad = hmac_pads(key)
    hmac = f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(subject_key))))"
    return (
        f"CREATE TABLE s AS SELECT subject_key, {hmac} AS subject_hmac "  # noqa: S608
        "FROM (SELECT DISTINCT subject_key FROM r WHERE subject_key IS NOT NULL)"
    )


def _copy_sql(target: Path) -> str:
    out = []
    for c in COLUMNS:
        if c == "at":
            out.append('CAST(r."at" AS TIMESTAMP)::TIMESTAMPTZ AS "at"')
        elif c in ("items_requested", "items_returned"):
            out.append(f"from_json(r.{c}, '[\"VARCHAR\"]') AS {c}")
        elif c == "grant_ids":
            out.append("from_json(r.grant_ids, '[\"BIGINT\"]') AS grant_ids")
        elif c == "subject_key":
            out.append("s.subject_hmac")
        else:
            out.append(f'r."{c}"')
    select = f"SELECT {', '.join(out)} FROM r LEFT JOIN s USING (subject_key)"  # noqa: S608
    return f"COPY ({select}) TO '{target}' (FORMAT parquet)"


def latest_manifest(directory: Path) -> dict[str, Any] | None:
    """Return the signed manifest with the highest ``to_seq`` in ``directory``, if any."""
    best: dict[str, Any] | None = None
    for path in directory.glob("audit-*.manifest.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if best is None or doc["manifest"]["to_seq"] > best["manifest"]["to_seq"]:
            best = doc
    return best


def export_log(
    engine: Engine,
    *,
    secret: str,
    out_dir: Path,
    from_seq: int | None = None,
    to_seq: int | None = None,
) -> ExportResult:
    """Export entries ``from_seq..to_seq`` (default: after the last manifest, to the end)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = latest_manifest(out_dir)
    with engine.connect() as conn:
        size = repository.max_seq(conn) or 0
    lo = from_seq or (previous["manifest"]["to_seq"] + 1 if previous else 1)
    hi = min(to_seq or size, size)
    if lo < 1 or lo > hi:
        raise InvalidInput(f"nothing to export: entries {lo}..{hi} (the log has {size})")
    with engine.connect() as conn:
        heads = repository.chain_at(conn, [lo - 1, hi])
    before = GENESIS if lo == 1 else heads.get(lo - 1)
    if before is None or hi not in heads:
        raise Conflict(f"entries {lo - 1} or {hi} are missing: run `datarun audit verify`")
    stem = f"audit-{lo:012d}-{hi:012d}"
    parquet = out_dir / f"{stem}.parquet"
    work = Path(tempfile.mkdtemp(prefix="datarun-export-"))  # 0700: the pipe is ours alone
    fifo = work / "rows.jsonl"
    os.mkfifo(fifo, 0o600)
    errors: list[BaseException] = []
    writer = threading.Thread(target=_stream, args=(engine, fifo, lo, hi, errors), daemon=True)
    writer.start()
    con = duckdb.connect()  # in memory: the raw keys never reach a file
    tmp = work / "out.parquet"
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(_load_sql(fifo))
        writer.join()
        if errors:
            raise Conflict(f"reading the log failed: {errors[0]}")
        try:
            _check_range(con, lo, hi, before, heads[hi])
        except duckdb.Error as exc:  # e.g. a hash that is not hex
            raise Conflict(f"malformed stored hashes ({exc}): run `datarun audit verify`") from exc
        con.execute(_hmac_sql(export_key(secret)))
        con.execute(_copy_sql(tmp))
        shutil.move(tmp, parquet)
    finally:
        con.close()
        _unblock(fifo, writer)
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "log": LOG_ID,
        "type": "export",
        "file": parquet.name,
        "sha256": file_sha256(parquet),
        "rows": hi - lo + 1,
        "from_seq": lo,
        "to_seq": hi,
        "chain_before": before,
        "chain_head": heads[hi],
        "subject_key": "HMAC-SHA256, key derived from the hub secret (subject-v1)",
        "created_at": format_at(utcnow()),
        "previous_manifest": statement_hash(previous["manifest"]) if previous else None,
    }
    signer = Signer(secret)
    with engine.begin() as conn:
        repository.lock(conn)
        key = signer.get(conn)
    manifest["key_id"] = key.kid
    doc = {"manifest": manifest, "signature": sign(key.private, manifest)}
    path = out_dir / f"{stem}.manifest.json"
    path.write_bytes(canonical_json(doc) + b"\n")
    checkpoints.write_key(out_dir, key.jwk)
    return ExportResult(parquet, path, lo, hi, hi - lo + 1)


def _check_range(con: Any, lo: int, hi: int, before: str, head: str) -> None:
    """Refuse an export whose rows are not the complete, linked range."""
    count, first, last = con.execute("SELECT count(*), min(seq), max(seq) FROM r").fetchone()
    if (count, first, last) != (hi - lo + 1, lo, hi):
        raise Conflict(f"entries {lo}..{hi} are not all there: run `datarun audit verify`")
    bad = con.execute(
        "SELECT min(a.seq) FROM r a JOIN r b ON b.seq = a.seq - 1 "
        "WHERE sha256(unhex(b.chain_hash) || unhex(a.entry_hash)) != a.chain_hash"
    ).fetchone()[0]
    first_ok = con.execute(
        "SELECT sha256(unhex(?) || unhex(entry_hash)) = chain_hash FROM r WHERE seq = ?",
        [before, lo],
    ).fetchone()[0]
    if not first_ok:
        bad = lo
    if bad is not None:
        raise Conflict(f"the chain breaks at entry {bad}: run `datarun audit verify`")
    tail = con.execute("SELECT chain_hash FROM r WHERE seq = ?", [hi]).fetchone()[0]
    if tail != head:
        raise Conflict("the chain head moved during the export; export again")


def _unblock(fifo: Path, writer: threading.Thread) -> None:
    """Let a writer still blocked on the pipe finish (DuckDB failed before opening it)."""
    if not writer.is_alive():
        return
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        while writer.is_alive():
            try:
                if not os.read(fd, 1 << 16):
                    writer.join(0.05)
            except BlockingIOError:
                writer.join(0.05)
        os.close(fd)
    except OSError:
        pass
    writer.join(5)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
