"""Run every benchmark: ``python -m benchmarks`` (or ``./dev bench``)."""

from __future__ import annotations

import platform
import sys

from benchmarks import bench_catalog_search, bench_tokens


def main() -> None:
    """Run the benchmarks in sequence and print their reports."""
    print(f"# DataRun benchmarks — Python {platform.python_version()} on {platform.machine()}")
    quick = "--quick" in sys.argv
    for lines in (
        bench_tokens.run(seconds=1.0 if quick else 3.0),
        bench_catalog_search.run(count=1_000 if quick else 10_000, samples=50 if quick else 200),
    ):
        print()
        print("\n".join(lines))


if __name__ == "__main__":
    main()
