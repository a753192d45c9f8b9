"""Export the access log to Parquet with subject keys as HMACs, plus a signed manifest.

The entries stream from the hub database as Arrow record batches (``arrow.entry_batches``:
ADBC's C drivers) and go to one Parquet file batch by batch, so memory stays bounded and no
raw subject key ever touches a file. Each batch is checked first: the range must be complete
(no gap) and every chain link must hold (``rules.first_broken_link``), continuing from the
chain head before the range; then each subject key is replaced by HMAC-SHA256 under a key
derived from the hub secret (computed once per distinct subject: one subject's accesses
still group together, the export carries no raw ID), the list fields are parsed from their
JSON text (pyarrow's JSON reader) and ``at`` becomes a UTC timestamp. The manifest
``audit-<from>-<to>.manifest.json`` names the range, the chain heads before and at its end,
the file's SHA-256 and the previous manifest's hash, signed with the checkpoint key. Each
export continues from the last manifest in the directory.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from exchange.audit import checkpoints, repository
from exchange.audit.arrow import COLUMNS, INTEGERS, BrokenLog, entry_batches
from exchange.audit.keys import Signer
from exchange.audit.rules import (
    GENESIS,
    LOG_ID,
    canonical_json,
    export_key,
    format_at,
    sign,
    statement_hash,
    subject_hmacs,
)
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, InvalidInput

LISTS = {
    "items_requested": pa.list_(pa.string()),
    "items_returned": pa.list_(pa.string()),
    "grant_ids": pa.list_(pa.int64()),
}
UTC_MICROS = pa.timestamp("us", tz="UTC")


def _type(name: str) -> pa.DataType:
    if name == "at":
        return UTC_MICROS
    if name in LISTS:
        return LISTS[name]
    return pa.int64() if name in INTEGERS else pa.string()


# The file's columns: the stored ones, with ``subject_key`` replaced by ``subject_hmac``.
SCHEMA = pa.schema(
    [pa.field("subject_hmac" if c == "subject_key" else c, _type(c)) for c in COLUMNS]
)
HMAC_CACHE_MAX = 1_000_000  # distinct subjects remembered across batches


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    parquet: Path
    manifest: Path
    from_seq: int
    to_seq: int
    rows: int


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
    work = Path(tempfile.mkdtemp(prefix="datarun-export-", dir=out_dir))
    try:
        tmp = work / "out.parquet"
        _write(engine, tmp, lo, hi, before, heads[hi], export_key(secret))
        shutil.move(tmp, parquet)
    finally:
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


def _write(
    engine: Engine, target: Path, lo: int, hi: int, before: str, head: str, key: bytes
) -> None:
    """Convert the range, checked batch by batch by the reader, into one Parquet file."""
    hmacs = _Hmacs(key)
    chain = before
    try:
        with (
            pq.ParquetWriter(target, SCHEMA, compression="snappy") as writer,
            ThreadPoolExecutor(1, thread_name_prefix="audit-export") as background,
            entry_batches(engine, lo, hi, chain_before=before) as batches,
        ):
            # Parquet encoding releases the GIL: it runs while the next batch converts.
            written: Future[None] | None = None
            for batch in batches:
                converted = _convert(batch, hmacs)
                if written is not None:
                    written.result()
                written = background.submit(writer.write_batch, converted)
                chain = batch.column("chain_hash")[-1].as_py()
            if written is not None:
                written.result()
    except BrokenLog as exc:
        raise Conflict(f"{exc}: run `datarun audit verify`") from exc
    except (pa.ArrowException, ValueError, TypeError) as exc:  # e.g. a list that is not JSON
        raise Conflict(f"malformed stored entries ({exc}): run `datarun audit verify`") from exc
    if chain != head:
        raise Conflict("the chain head moved during the export; export again")


def _convert(batch: pa.RecordBatch, hmacs: _Hmacs) -> pa.RecordBatch:
    """Turn a batch of stored columns into the file's: HMAC'd subjects, lists, timestamps."""
    columns = []
    for field in SCHEMA:
        name = "subject_key" if field.name == "subject_hmac" else field.name
        column = batch.column(name)
        if name == "subject_key":
            column = hmacs.replace(column)
        elif name in LISTS:
            column = _parse_lists(column, field.type)
        elif name == "at" and pa.types.is_string(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us")), UTC_MICROS)
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


class _Hmacs:
    """Subject keys → their HMACs, each distinct key computed once per export (bounded)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._subjects = pa.array([], pa.string())
        self._hmacs = pa.array([], pa.string())

    def replace(self, column: pa.Array) -> pa.Array:
        """Return the column of HMACs for a column of subject keys (nulls stay null)."""
        encoded = pc.dictionary_encode(column.cast(pa.string()))
        distinct = encoded.dictionary
        where = pc.index_in(distinct, value_set=self._subjects)
        if where.null_count:
            new = pc.filter(distinct, pc.is_null(where))
            if len(self._subjects) + len(new) > HMAC_CACHE_MAX:  # start afresh
                self._subjects = self._hmacs = pa.array([], pa.string())
                new = distinct
            computed = pa.array(subject_hmacs(self._key, new.to_pylist()), pa.string())
            self._subjects = pa.concat_arrays([self._subjects, new])
            self._hmacs = pa.concat_arrays([self._hmacs, computed])
            where = pc.index_in(distinct, value_set=self._subjects)
        return pc.take(pc.take(self._hmacs, where), encoded.indices)


def _parse_lists(column: pa.Array, kind: pa.DataType) -> pa.Array:
    """Parse a column of JSON list texts at C speed: as JSON lines through pyarrow's reader."""
    if column.null_count:
        raise ValueError("a list field is NULL")
    lines = pc.binary_join_element_wise('{"v":', column.cast(pa.string()), "}\n", "")
    _, offsets, data = lines.buffers()
    bounds = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets], 0, lines.offset)
    start, end = bounds[0].as_py(), bounds[-1].as_py()
    table = pa_json.read_json(
        pa.BufferReader(data[start:end]),
        parse_options=pa_json.ParseOptions(
            explicit_schema=pa.schema([pa.field("v", kind)]),
            unexpected_field_behavior="error",
            newlines_in_values=False,
        ),
    )
    if table.num_rows != len(column):
        raise ValueError("a list field is not one JSON list")
    return table.column("v").combine_chunks()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
