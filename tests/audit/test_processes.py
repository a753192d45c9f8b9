"""Several hub processes on one database append to one ordered chain (real OS processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from exchange.audit.verify import verify_log
from exchange.core.db import make_engine
from exchange.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_three_processes_make_one_gap_free_chain(settings: Settings, tmp_path: Path) -> None:
    url = settings.effective_database_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit.appender", url, str(tmp_path), "120", "6", str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    seqs: list[int] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0
        seqs += [int(s) for s in out.split()]
    assert sorted(seqs) == list(range(1, 361))  # no gap, no duplicate
    engine = make_engine(url)
    try:
        result = verify_log(
            engine,
            secret=settings.secret_key.get_secret_value(),
            witness_dir=tmp_path / "checkpoints",
        )
    finally:
        engine.dispose()
    assert result.ok, result.problems
    assert result.entries_checked == 360
    assert result.checkpoints_checked >= 5 and result.witness_checkpoints >= 5
