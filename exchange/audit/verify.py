"""Verify the access log: every entry hash, the chain, the signed checkpoints, the head, a witness.

What it proves, and its limit. Every entry's hash is recomputed from its fields and every
link of the chain from the stored hashes; every checkpoint's Ed25519 signature is checked
with the hub's checkpoint key (a key row counts only if its private half decrypts with the
hub secret), checkpoints must link to each other and only grow, and the chain head at
each checkpoint's size must be the one it signed. The head row is signed at every commit,
so an entry forged after it (even with correct hashes) or a tail cut below it shows.
With ``witness_dir``, every checkpoint the witness holds must be in the database as is and
match the chain. What no check can see: someone who can write the database may cut the
log back to an earlier signed state (a checkpoint, or a head they saved) and rewrite
everything after it, since the hashes are public; that is only caught by a checkpoint
beyond the cut that a witness holds. So cutting the tail after the last checkpoint a
witness holds is the limit: keep the witness's copy fresh (checkpoints every N entries
or T seconds).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from exchange.audit import repository
from exchange.audit.findings import Problem, VerifyResult
from exchange.audit.rules import GENESIS, canonical_row, format_at, run_verifies
from exchange.audit.signed import check_signed
from exchange.core.db import make_engine

Progress = Callable[[int, int], None]
MAX_PROBLEMS = 50
BATCH = 2048  # entries per fetch on the fast path


def _canonical_rows(conn: Connection, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
    """Yield (seq, canonical form, entry_hash, chain_hash) for entries ``lo..hi``.

    The database builds the canonical form; if it cannot (a tampered list field that is not
    JSON), the rest of the range is read raw and formatted here, row by row.
    """
    seq_column = repository.entries.c.seq
    if conn.dialect.name == "sqlite":  # read the table through the page cache, not read()
        conn.exec_driver_sql("PRAGMA mmap_size = 1073741824")
    stmt = repository.verify_select(conn.dialect.name)
    start = lo
    if stmt is not None:
        try:
            result = conn.execute(stmt.where(seq_column.between(lo, hi)))
            while rows := result.fetchmany(20_000):
                yield from rows
                start = rows[-1][0] + 1
            return
        except DBAPIError:
            conn.rollback()
    for r in conn.execute(repository.python_select().where(seq_column.between(start, hi))):
        try:
            values = list(r[:22])
            at = values[0]
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            values[0] = format_at(at if at.tzinfo else at.replace(tzinfo=UTC))
            canonical: str | None = canonical_row(values).decode("utf-8", "surrogatepass")
        except (AttributeError, TypeError, ValueError):
            canonical = None
        yield r[18], canonical, r[22], r[23]


def check_rows(conn: Connection, lo: int, hi: int) -> tuple[int, list[Problem]]:
    """Recompute entry hashes and chain links of entries ``lo..hi``; return count, problems."""
    problems: list[Problem] = []
    if lo == 1:
        previous: str | None = GENESIS
    else:
        previous = repository.chain_at(conn, [lo - 1]).get(lo - 1)  # None: a gap, found there
    sha256 = hashlib.sha256
    fromhex = bytes.fromhex
    expected = lo
    count = 0
    for seq, canonical, digest, chain in _canonical_rows(conn, lo, hi):
        count += 1
        if seq != expected:
            problems.append(Problem(expected, "missing", f"entries {expected}..{seq - 1}"))
            previous = None
        try:
            if sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest() != digest:
                problems.append(Problem(seq, "entry_hash", "fields do not match entry_hash"))
            if previous is not None and sha256(fromhex(previous + digest)).hexdigest() != chain:
                problems.append(Problem(seq, "chain", "chain_hash does not follow"))
        except (AttributeError, TypeError, ValueError) as exc:
            problems.append(Problem(seq, "unreadable", f"malformed stored value: {exc}"))
        previous = chain
        expected = seq + 1
        if len(problems) > MAX_PROBLEMS:
            return count, problems
    if expected <= hi:
        problems.append(Problem(expected, "missing", f"entries {expected}..{hi}"))
    return count, problems


def check_range(
    conn: Connection, lo: int, hi: int, *, batch: int = BATCH
) -> tuple[int, list[Problem]]:
    """Check entries ``lo..hi`` as ``check_rows`` does, a few thousand entries per fetch.

    Each batch comes as one row of concatenations (``repository.verify_batch_sql``) and is
    checked whole (``rules.run_verifies``); a batch that does not pass whole (a gap, an odd
    hash, a mismatch, a list field the database cannot parse) is checked again row by row
    by ``check_rows``, which names what is wrong. So the problems are the same as reading
    row by row, and a clean log is read at the speed of the database building its
    canonical forms.
    """
    sql = repository.verify_batch_sql(conn.dialect.name)
    if sql is None:
        return check_rows(conn, lo, hi)
    if conn.dialect.name == "sqlite":  # read the table through the page cache, not read()
        conn.exec_driver_sql("PRAGMA mmap_size = 1073741824")
    previous = GENESIS if lo == 1 else repository.chain_at(conn, [lo - 1]).get(lo - 1)
    done = 0
    problems: list[Problem] = []
    for a, b in _ranges(lo, hi, batch):
        if previous is not None:
            try:
                row = conn.execute(sql, {"lo": a, "hi": b}).one()
            except DBAPIError:
                conn.rollback()  # e.g. a list field that is not JSON: row by row says where
            else:
                if _batch_passes(row, a, b, previous):
                    done += row[0]
                    previous = row[5][-64:]
                    continue
        count, found = check_rows(conn, a, b)
        done += count
        _merge(problems, found)
        if len(problems) > MAX_PROBLEMS:
            break
        previous = repository.chain_at(conn, [b]).get(b)
    return done, problems


def _batch_passes(row: Any, lo: int, hi: int, previous: str) -> bool:
    count, first, last, shaped, forms, pairs = row
    if (count, first, last, shaped) != (hi - lo + 1, lo, hi, count):
        return False
    if isinstance(forms, str):
        forms = forms.encode("utf-8", "surrogatepass")
    return run_verifies(previous, count, forms, pairs)


def _merge(problems: list[Problem], found: list[Problem]) -> None:
    """Add ``found`` to ``problems``, joining a gap that runs on from the previous batch."""
    for p in found:
        before, gap = _gap(problems[-1]) if problems else None, _gap(p)
        if before is not None and gap is not None and before[1] + 1 == gap[0]:
            problems[-1] = Problem(before[0], "missing", f"entries {before[0]}..{gap[1]}")
        else:
            problems.append(p)


def _gap(p: Problem) -> tuple[int, int] | None:
    start, _, end = p.detail.removeprefix("entries ").partition("..")
    if p.kind != "missing" or not (start.isdigit() and end.isdigit()):
        return None
    return int(start), int(end)


_worker_engines: dict[str, Engine] = {}


def _check_range(args: tuple[str, int, int]) -> tuple[int, int, list[Problem]]:
    url, lo, hi = args
    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = make_engine(url)
    with engine.connect() as conn:
        count, problems = check_range(conn, lo, hi)
    return hi, count, problems


def _ranges(lo: int, hi: int, chunk: int) -> Iterator[tuple[int, int]]:
    start = lo
    while start <= hi:
        yield start, min(hi, start + chunk - 1)
        start += chunk


def verify_log(
    engine: Engine,
    *,
    secret: str | None,
    from_seq: int = 1,
    witness_dir: Path | None = None,
    workers: int = 1,
    chunk: int = 100_000,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify the log from ``from_seq`` on (see the module docstring for what it proves).

    ``workers`` > 1 spreads the entry hashing over that many processes (the checks are
    independent per entry once each chain link is checked against the stored previous
    link). ``secret`` is the hub secret (None: key rows are not checked against it).
    """
    started = time.perf_counter()
    with engine.connect() as conn:
        size = repository.max_seq(conn) or 0
    result = VerifyResult(size=size, from_seq=max(1, from_seq))
    total = max(0, size - result.from_seq + 1)
    ranges = list(_ranges(result.from_seq, size, chunk))
    url = engine.url.render_as_string(hide_password=False)
    done = 0
    if workers > 1 and len(ranges) > 1:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(workers) as pool:
            for _hi, count, problems in pool.imap(_check_range, [(url, a, b) for a, b in ranges]):
                done += count
                _merge(result.problems, problems)
                if progress:
                    progress(done, total)
    else:
        with engine.connect() as conn:
            for a, b in ranges:
                count, problems = check_range(conn, a, b)
                done += count
                _merge(result.problems, problems)
                if progress:
                    progress(done, total)
    result.entries_checked = done
    with engine.connect() as conn:
        check_signed(conn, result, secret=secret, witness_dir=witness_dir)
    result.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    result.seconds = time.perf_counter() - started
    return result
