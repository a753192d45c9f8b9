"""A second hub process for the tests: append N entries from T threads, print the seqs.

Run: ``python -m tests.audit.appender DATABASE_URL DATA_DIR N THREADS NAME``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from exchange.audit.log import AuditLog
from exchange.core.settings import Settings
from tests.audit.support import record


def main() -> None:
    """Append and print one line of sequence numbers."""
    url, data_dir = sys.argv[1], Path(sys.argv[2])
    count, threads = int(sys.argv[3]), int(sys.argv[4])
    settings = Settings(
        environment="test", database_url=url, data_dir=data_dir, audit_checkpoint_every=40
    )
    log = AuditLog(url, settings)
    seqs: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(count // threads):
            entry = log.append(record(n * 1000 + i, system=f"proc-{sys.argv[5]}"))
            with lock:
                seqs.append(entry.seq)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    log.close()
    print(" ".join(map(str, seqs)), flush=True)


if __name__ == "__main__":
    main()
