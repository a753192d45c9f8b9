"""The access-log appender's own work: CPU per commit and per entry of ``AuditLog._write``.

One thread writes batches of 1, 8 and 32 pull-like entries on a fresh SQLite hub database
(WAL, full sync: each commit is durable; with ``DATARUN_BENCH_POSTGRES_URL`` set, on a
PostgreSQL database of the run's own, as ``bench_pulls`` makes one), each on the kept
connection the appender uses, and prints this process's CPU time (``time.process_time``;
not the database server's) per commit and per entry. From two batch sizes
the fixed cost of a commit (the transaction, the head row and its Ed25519 signature, the
durable WAL commit) and the cost of one more entry (its canonical row, hashes, insert) follow.

Run: ``python -m benchmarks.audit_commit [--commits N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange.audit.records import AuditRecord

BATCHES = (1, 8, 32)


def _record(i: int) -> AuditRecord:
    from exchange.audit.records import AuditRecord

    items = ["id_number", "name", "address", "valid_until"]
    return AuditRecord(
        decision="allowed",
        outcome=200,
        request_id=f"{i:032x}",
        system="zj-zrzyt-window",
        department="zj-zrzyt",
        token_jti=f"jti-{i:08d}",
        provider="zj-gat",
        resource_code="301001002/000002",
        resource_version="1.0",
        items_requested=items,
        items_returned=items,
        subject_key="330212199011083117",
        purpose="330000-ZR-001",
        grant_ids=[3],
        policy_version=7,
        record_count=1,
        latency_ms=3,
        response_hash="ab" * 32,
    )


def main() -> None:
    """Write the batches, print CPU per commit and per entry for each size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=2000)
    args = parser.parse_args()
    from benchmarks.common import hub_database

    with tempfile.TemporaryDirectory() as tmp, hub_database(Path(tmp)) as url:
        os.environ["DATARUN_DATABASE_URL"] = url
        os.environ["DATARUN_DATA_DIR"] = tmp
        from exchange.audit.groupcommit import KeptConnection
        from exchange.audit.log import AuditLog
        from exchange.core.migrate import upgrade
        from exchange.core.settings import Settings

        settings = Settings()
        upgrade(settings.effective_database_url)
        log = AuditLog(settings.effective_database_url, settings)
        kept = KeptConnection(log.engine)
        try:
            for size in BATCHES:
                batches = [[_record(i) for _ in range(size)] for i in range(args.commits)]
                for batch in batches[:100]:  # warm up
                    log._write(batch, kept=kept)
                cpu = time.process_time()
                for batch in batches:
                    log._write(batch, kept=kept)
                cpu = (time.process_time() - cpu) / args.commits
                print(
                    f"batch {size:>2}: {cpu * 1000:.3f} ms CPU per commit, "
                    f"{cpu / size * 1000:.3f} ms per entry"
                )
        finally:
            kept.drop()
            log.close()


if __name__ == "__main__":
    main()
