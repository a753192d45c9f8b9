"""Run every benchmark: ``python -m benchmarks`` (or ``./dev bench``)."""

from __future__ import annotations

import platform
import sys

from benchmarks import (
    bench_applications,
    bench_audit,
    bench_catalog_search,
    bench_connectors,
    bench_enforcer,
    bench_pulls,
    bench_tokens,
)


def main() -> None:
    """Run the benchmarks in sequence and print their reports."""
    print(f"# DataRun benchmarks — Python {platform.python_version()} on {platform.machine()}")
    quick = "--quick" in sys.argv
    for lines in (
        bench_tokens.run(seconds=1.0 if quick else 3.0),
        bench_catalog_search.run(count=1_000 if quick else 10_000, samples=50 if quick else 200),
        bench_audit.run(count=100_000 if quick else 1_000_000, seconds=2.0 if quick else 3.0),
        bench_enforcer.run(quick=quick),
        bench_connectors.run(count=20_000 if quick else 100_000, seconds=0.3 if quick else 1.0),
        bench_pulls.run(quick=quick),
        bench_applications.run(quick=quick),
    ):
        print()
        print("\n".join(lines))


if __name__ == "__main__":
    main()
