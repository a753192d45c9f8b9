"""Grant decisions with casbin at 1,000 / 100,000 / 1,000,000 rules: ours vs the plain Enforcer.

Synthetic grants over 1,000 departments (3 systems each), 2,000 resources of 10 items and
600 purposes, with a Zipf skew so the popular resources have thousands of grantees. One
rule per granted (item, purpose), exactly what ``exchange.grants.policy`` derives.

- ours: ``exchange.grants.enforcer.decide`` over the indexed snapshot (casbin's matcher
  runs over the handful of rules of one consumer, item and purpose);
- baseline: pycasbin's plain ``Enforcer`` with the same model and all the rules, measured
  in the same run (at 1,000 and 100,000 rules; at 1,000,000 one decision scans a million
  rules, seconds each, so it is skipped).

Every sample is a different request ("cold": nothing is cached per request). Also
reported: a 10-item request in one call, the memory of the loaded policy at the largest
size (tracemalloc), the rebuild from the database at 100,000 rules (Core select vs
pycasbin's SQLAlchemy adapter), an incremental reload, and the correctness of decisions
made by 2 threads while the policy is swapped under them, against a reference answer.

Run: ``python -m benchmarks.bench_enforcer`` (``--quick``: 1k / 10k / 100k).
"""

from __future__ import annotations

import gc
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import casbin
from casbin.model import Model
from sqlalchemy import insert
from sqlalchemy.orm import Session

from benchmarks.common import measure_latency
from exchange.core.db import make_engine
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings
from exchange.grants import enforcer, engine
from exchange.grants.enforcer import PolicySnapshot
from exchange.grants.models import CasbinRule
from exchange.grants.policy import Rule, bump_policy_version

DEPARTMENTS, SYSTEMS_PER_DEPT, RESOURCES, ITEMS, PURPOSES = 1_000, 3, 2_000, 10, 600
TODAY = date(2026, 11, 27)
DAY = TODAY.isoformat()
Request = tuple[str, str, str, str, str]  # sys subject, dept subject, object, purpose, day


def synthetic_rules(count: int, seed: int = 7) -> list[Rule]:
    """Return about ``count`` rules of synthetic grants (skewed towards popular resources)."""
    rng = random.Random(seed)
    weights = [1 / (r + 1) ** 1.1 for r in range(RESOURCES)]  # Zipf-like popularity
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    rules: list[Rule] = []
    gid = 0
    while len(rules) < count:
        gid += 1
        dept = rng.randrange(DEPARTMENTS)
        if rng.random() < 0.25:
            subject = f"sys:d{dept}-s{rng.randrange(SYSTEMS_PER_DEPT)}"
        else:
            subject = f"dept:d{dept}"
        resource = rng.choices(range(RESOURCES), cum_weights=cumulative)[0]
        code = f"3{resource // 100:02d}{resource % 100:03d}001/{resource:06d}"
        items = rng.sample(range(ITEMS), rng.randint(2, 8))
        purposes = rng.sample(range(PURPOSES), rng.randint(1, 3))
        start = TODAY - timedelta(days=rng.randint(0, 700))
        end = start + timedelta(days=rng.randint(30, 1095))  # some have already ended
        for i in items:
            for p in purposes:
                rules.append(
                    (subject, f"{code}:i{i}", f"p{p}", start.isoformat(), end.isoformat(), str(gid))
                )
    return rules[:count]


def requests_for(rules: Sequence[Rule], n: int, *, hits: bool, seed: int = 11) -> list[Request]:
    """Return ``n`` requests: hits name a granted (consumer, item, purpose), so casbin runs
    over a bucket (the grant may still be out of its dates); misses are random ones."""
    rng = random.Random(seed)
    out: list[Request] = []
    for _ in range(n):
        if hits:
            sub, obj, pur = rng.choice(rules)[:3]
            dept = sub if sub.startswith("dept:") else "dept:" + sub[4:].split("-s")[0]
            system = sub if sub.startswith("sys:") else f"sys:{dept[5:]}-s{rng.randrange(3)}"
        else:
            d = rng.randrange(DEPARTMENTS)
            dept, system = f"dept:d{d}", f"sys:d{d}-s{rng.randrange(3)}"
            r = rng.randrange(RESOURCES)
            obj = f"3{r // 100:02d}{r % 100:03d}001/{r:06d}:i{rng.randrange(ITEMS)}"
            pur = f"p{rng.randrange(PURPOSES)}"
        out.append((system, dept, obj, pur, DAY))
    return out


def reference(rules: Sequence[Rule], requests: Sequence[Request]) -> list[bool]:
    """Return the answers by brute force, without casbin or the index."""
    wanted = {(r[2], r[3]) for r in requests}
    by_key: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        if (rule[1], rule[2]) in wanted:
            by_key.setdefault((rule[1], rule[2]), []).append(rule)
    return [
        any(r[0] in (s, d) and r[3] <= day <= r[4] for r in by_key.get((obj, pur), []))
        for s, d, obj, pur, day in requests
    ]


def snapshot_of(rules: Sequence[Rule], version: int = 1) -> PolicySnapshot:
    """Index ``rules`` into a snapshot (what a rebuild does after reading them)."""
    subjects, grant_subject, count = enforcer.build_index(rules, frozenset())
    return PolicySnapshot(
        version=version,
        subjects=subjects,
        grant_subject=grant_subject,
        masked=frozenset(),
        rule_count=count,
    )


def _decider(snap: PolicySnapshot, requests: Sequence[Request]) -> Callable[[], object]:
    it = iter(range(sys.maxsize))
    n = len(requests)

    def one() -> object:
        s, d, obj, pur, day = requests[next(it) % n]
        resource, item = obj.rsplit(":", 1)
        return enforcer.decide(
            snap,
            system=s[4:],
            department=d[5:],
            resource_code=resource,
            items=(item,),
            purpose=pur,
            day=day,
        )

    return one


def plain_enforcer(rules: Sequence[Rule]) -> casbin.Enforcer:
    """Return pycasbin's plain Enforcer holding every rule (the baseline)."""
    model = Model()
    model.load_model_from_text(enforcer.MODEL_TEXT)
    plain = casbin.Enforcer(model)
    plain.model["p"]["p"].policy = [list(r) for r in rules]
    return plain


def _us(ms: float) -> str:
    return f"{ms * 1000:>9.1f}"


def measure_sizes(sizes: Sequence[int], plain_up_to: int, lines: list[str]) -> dict[int, float]:
    """Report p50 decision latency per size, ours beside the plain Enforcer; return ours."""
    ours: dict[int, float] = {}
    lines.append(
        f"{'rules':>10} {'index s':>8} {'ours p50 µs':>12} {'p99 µs':>9} {'miss p50':>9} "
        f"{'plain p50 µs':>13} {'plain/ours':>11} {'10 items µs':>12}"
    )
    for size in sizes:
        rules = synthetic_rules(size)
        started = time.perf_counter()
        snap = snapshot_of(rules)
        build = time.perf_counter() - started
        requests = requests_for(rules, 20_000, hits=True)
        lat = measure_latency("ours", _decider(snap, requests), samples=20_000, warmup=2_000)
        misses = requests_for(rules, 5_000, hits=False)
        miss = measure_latency("miss", _decider(snap, misses), samples=5_000, warmup=50)
        ours[size] = lat.p50
        ten = _ten_items(snap, rules)
        plain_cell, ratio_cell = f"{'skipped':>13}", f"{'':>11}"
        if size <= plain_up_to:
            plain = plain_enforcer(rules)
            samples = 200 if size <= 10_000 else 10
            it = iter(range(sys.maxsize))

            def baseline(
                plain: casbin.Enforcer = plain,
                it: Iterator[int] = it,
                requests: list[Request] = requests,
            ) -> object:
                s, d, obj, pur, day = requests[next(it) % len(requests)]
                return plain.enforce(s, d, obj, "read", pur, day)

            base = measure_latency("plain", baseline, samples=samples, warmup=2)
            plain_cell = _us(base.p50).rjust(13)
            ratio_cell = f"{base.p50 / lat.p50:>10.0f}x"
        lines.append(
            f"{size:>10,} {build:>8.2f} {_us(lat.p50):>12} {_us(lat.p99)} {_us(miss.p50)} "
            f"{plain_cell} {ratio_cell} {_us(ten.p50):>12}"
        )
        del snap, rules
        gc.collect()
    return ours


def _ten_items(snap: PolicySnapshot, rules: Sequence[Rule]) -> object:
    rng = random.Random(3)
    picks = [rng.choice(rules) for _ in range(2_000)]
    it = iter(range(sys.maxsize))

    def ten() -> object:
        sub, obj, pur = picks[next(it) % len(picks)][:3]
        resource = obj.rsplit(":", 1)[0]
        dept = sub[5:] if sub.startswith("dept:") else sub[4:].split("-s")[0]
        system = sub[4:] if sub.startswith("sys:") else None
        return enforcer.decide(
            snap,
            system=system,
            department=dept,
            resource_code=resource,
            items=[f"i{i}" for i in range(ITEMS)],
            purpose=pur,
            day=DAY,
        )

    return measure_latency("ten", ten, samples=2_000, warmup=50)


def measure_memory(size: int, lines: list[str]) -> None:
    """Report the memory of ``size`` indexed rules and the cost of one incremental reload."""
    rules = synthetic_rules(size)
    gc.collect()
    tracemalloc.start()
    snap = snapshot_of(rules)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines.append(
        f"memory of the loaded policy at {size:,} rules: {current / 1_048_576:.0f} MiB "
        "(tracemalloc: index, rule tuples, interned strings)"
    )
    # A revoke elsewhere: one grant's rules leave a copy-on-write snapshot (the rest shared).
    gid = rules[len(rules) // 2][5]
    patch = min(
        _timed(
            lambda: enforcer.apply_changes(snap, version=2, changed={gid}, rules=[], masked=set())
        )
        for _ in range(5)
    )
    lines.append(f"incremental reload of one grant at {size:,} rules: {patch * 1000:.1f} ms")


def measure_rebuild(size: int, lines: list[str]) -> None:
    """Report the rebuild from a SQLite hub database: Core select + index vs the ORM adapter."""
    from sqlalchemy_adapter import Adapter

    rules = synthetic_rules(size)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        upgrade(url)
        db = make_engine(url)
        with db.begin() as conn:
            conn.execute(
                insert(CasbinRule),
                [{"ptype": "p", **{f"v{i}": v for i, v in enumerate(r)}} for r in rules],
            )
        best = min(_timed(lambda: engine.load_snapshot(db)) for _ in range(3))
        model = Model()
        model.load_model_from_text(enforcer.MODEL_TEXT)
        adapter = Adapter(db, db_class=CasbinRule, create_table=False)
        orm = _timed(lambda: adapter.load_policy(model))
        # Another process revokes one grant (its rules go, the version moves); this
        # process catches up incrementally: change log + that grant's rules re-read.
        policy = engine.GrantPolicy(db, Settings(database_url=url, environment="test"))
        policy.refresh()
        policy.dispose()  # no commit hook: the refresh below is what a watcher triggers
        with Session(db) as session:
            bump_policy_version(session, grant_ids=[int(rules[len(rules) // 2][5])])
            session.commit()
        patch = _timed(policy.refresh)
        assert policy.snapshot.rule_count < len(rules)
        db.dispose()
    lines.append(
        f"rebuild from SQLite at {size:,} rules: Core select + index {best:.3f} s; "
        f"pycasbin's SQLAlchemy adapter load_policy (ORM, no index) {orm:.3f} s "
        f"({orm / best:.1f}x the time)"
    )
    lines.append(
        f"incremental reload from SQLite after another process revoked one grant, at "
        f"{size:,} rules: {patch * 1000:.1f} ms"
    )


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def swap_under_load(size: int, seconds: float, lines: list[str]) -> None:
    """Decide from 2 threads while snapshots A and B are swapped in; count wrong answers."""
    rules_a = synthetic_rules(size)
    revoked = {r[5] for r in random.Random(5).sample(rules_a, len(rules_a) // 10)}
    rules_b = [r for r in rules_a if r[5] not in revoked]
    requests = requests_for(rules_a, 2_000, hits=True) + requests_for(rules_a, 2_000, hits=False)
    expected = {1: reference(rules_a, requests), 2: reference(rules_b, requests)}
    snaps = [snapshot_of(rules_a, 1), snapshot_of(rules_b, 2)]
    holder = {"snap": snaps[0]}
    stop = threading.Event()
    counts = {"decisions": 0, "wrong": 0, "errors": 0}
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        done = wrong = errors = 0
        while not stop.is_set():
            k = rng.randrange(len(requests))
            s, d, obj, pur, day = requests[k]
            resource, item = obj.rsplit(":", 1)
            try:
                decision = enforcer.decide(
                    holder["snap"],
                    system=s[4:],
                    department=d[5:],
                    resource_code=resource,
                    items=(item,),
                    purpose=pur,
                    day=day,
                )
                if decision.allowed != expected[decision.policy_version][k]:
                    wrong += 1
            except Exception:
                errors += 1
            done += 1
        with lock:
            counts["decisions"] += done
            counts["wrong"] += wrong
            counts["errors"] += errors

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    swaps = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # Rebuild aside (a full index of the other version), then swap the reference.
        nxt = 2 if holder["snap"].version == 1 else 1
        holder["snap"] = snapshot_of(rules_a if nxt == 1 else rules_b, nxt)
        swaps += 1
    stop.set()
    for t in threads:
        t.join()
    lines.append(
        f"swap under load at {size:,} rules: {swaps} rebuilds+swaps, "
        f"{counts['decisions']:,} decisions by 2 threads, "
        f"{counts['wrong']} wrong vs the reference, {counts['errors']} exceptions"
    )


def run(quick: bool = False) -> list[str]:
    """Measure and return report lines."""
    sizes = [1_000, 10_000, 100_000] if quick else [1_000, 100_000, 1_000_000]
    lines = [
        "grant decisions with casbin (one item, one thread; plain = pycasbin Enforcer, all rules)"
    ]
    ours = measure_sizes(sizes, plain_up_to=100_000, lines=lines)
    small, large = sizes[0], sizes[-1]
    lines.append(
        f"  ratio p50 at {large:,} / at {small:,} rules: "
        f"{ours[large] / ours[small]:.2f} (target ≤ 1.5)"
    )
    lines.append(f"  p50 at {large:,} rules: {ours[large] * 1000:.1f} µs (target ≤ 50 µs)")
    lines.append(
        f"  plain Enforcer at {large:,} rules: skipped (scans every rule per decision)"
        if large > 100_000
        else ""
    )
    measure_memory(large, lines)
    measure_rebuild(10_000 if quick else 100_000, lines)
    swap_under_load(10_000 if quick else 100_000, 2.0 if quick else 5.0, lines)
    return [line for line in lines if line]


if __name__ == "__main__":
    print("\n".join(run(quick="--quick" in sys.argv)))
