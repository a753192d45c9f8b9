"""The garbage collector of a serving hub process: the startup heap frozen, young objects
collected less often.

A hub process builds a large, long-lived heap at startup (FastAPI's routes and models,
SQLAlchemy's metadata, casbin's model, the catalogue's vocabularies: about 220,000
objects). CPython's cyclic collector walks all of it at every full (oldest generation)
collection, about 140 ms on this machine during which no request moves, and under load
those collections come every few seconds: they were the hub's p99 latency (120–140 ms at a
p50 of 11 ms in ``benchmarks/bench_pulls.py``). After startup :func:`settle` collects once,
moves what survived into the permanent generation (``gc.freeze``: never walked again, still
freed by reference counting) and raises the youngest generation's threshold, so that the
collections a request's short-lived objects cause are fewer. Measured in ``bench_pulls``:
p99 122–142 → 16–20 ms, and about 20 % less CPU per pull (README, "Benchmarks").

Only a serving process should do this (``DATARUN_GC_TUNING``, on by default; the test
suite turns it off: an app frozen in a test process would never be collected).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("datarun.heap")


def settle(gen0_threshold: int) -> int:
    """Collect, freeze the surviving heap, collect young objects every ``gen0_threshold``
    net allocations (Python's default: 700). Return how many objects were frozen."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
    frozen = gc.get_freeze_count()
    log.info("startup heap frozen: %d objects; young generation every %d", frozen, gen0_threshold)
    return frozen
