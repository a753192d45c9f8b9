"""casbin decides grant requests over an indexed, immutable policy snapshot.

The policy is never scanned per request. A ``PolicySnapshot`` indexes the rules by
subject, then by (``resource_code:item_code``, purpose): each lookup yields the handful
of rules of one consumer for one item and purpose, and casbin's matcher (dates, subject,
object, purpose: ``policy_model.conf``) runs over just those. Snapshots are built aside
and swapped by reference; nothing ever mutates one that a decision may be reading.

The evaluator is a plain pycasbin ``Enforcer`` per thread whose policy is pointed at the
bucket for the duration of one ``enforce_ex`` call. Being per thread, nothing it holds is
shared (pycasbin's ``FastEnforcer`` filters one shared policy in place, which is what makes
it unsafe under concurrent calls and reloads).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import casbin
from casbin.model import Model

from exchange.grants.policy import Rule

MODEL_TEXT = (Path(__file__).parent / "policy_model.conf").read_text(encoding="utf-8")

Bucket = tuple[Rule, ...]
Index = dict[str, dict[tuple[str, str], Bucket]]  # subject → (object, purpose) → rules
EMPTY: Bucket = ()


@dataclass(frozen=True)
class Decision:
    """The answer to one request for items of one resource."""

    allowed_items: tuple[str, ...]
    denied_items: tuple[str, ...]
    grant_ids: Mapping[str, int]  # allowed item → the grant that allows it
    masked: Mapping[str, bool]  # allowed item → the consumer may see masked values only
    policy_version: int

    @property
    def allowed(self) -> bool:
        """Return whether every requested item is allowed."""
        return bool(self.allowed_items) and not self.denied_items


@dataclass(frozen=True)
class PolicySnapshot:
    """One immutable version of the grant policy, indexed for decisions."""

    version: int
    subjects: Index
    grant_subject: Mapping[str, str]  # grant id → its subject (for incremental reloads)
    masked: frozenset[str]  # ids of grants that give masked data only
    rule_count: int
    built_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def _order(bucket: Bucket, masked: frozenset[str]) -> Bucket:
    # casbin stops at the first matching rule: put unmasked grants first so an item that
    # some grant gives in clear is reported as such.
    if len(bucket) < 2:
        return bucket
    return tuple(sorted(bucket, key=lambda r: (r[5] in masked, int(r[5]))))


def build_index(
    rules: Iterable[Sequence[Any]], masked: frozenset[str]
) -> tuple[Index, dict[str, str], int]:
    """Index rules by subject and (object, purpose); return index, grant → subject, count."""
    intern = sys.intern
    subjects: Index = {}
    grant_subject: dict[str, str] = {}
    count = 0
    multi: list[tuple[dict[tuple[str, str], Bucket], tuple[str, str]]] = []
    for raw in rules:
        rule: Rule = (
            intern(raw[0]),
            intern(raw[1]),
            intern(raw[2]),
            intern(raw[3]),
            intern(raw[4]),
            intern(raw[5]),
        )
        inner = subjects.get(rule[0])
        if inner is None:
            inner = subjects[rule[0]] = {}
        key = (rule[1], rule[2])
        bucket = inner.get(key)
        if bucket is None:
            inner[key] = (rule,)
        else:
            if len(bucket) == 1:
                multi.append((inner, key))
            inner[key] = (*bucket, rule)
        grant_subject[rule[5]] = rule[0]
        count += 1
    for inner, key in multi:
        inner[key] = _order(inner[key], masked)
    return subjects, grant_subject, count


def apply_changes(
    snapshot: PolicySnapshot,
    *,
    version: int,
    changed: set[str],
    rules: Iterable[Sequence[Any]],
    masked: set[str],
) -> PolicySnapshot:
    """Return a new snapshot with the rules of the ``changed`` grants replaced by ``rules``.

    Copies only the outer index and the inner dicts of the subjects involved; the old
    snapshot stays intact for the decisions still reading it.
    """
    new_masked = frozenset((snapshot.masked - changed) | masked)
    added, grant_subject, added_count = build_index(rules, new_masked)
    subjects = dict(snapshot.subjects)
    grants = dict(snapshot.grant_subject)
    removed = 0
    for subject in {grants[g] for g in changed if g in grants}:
        inner = dict(subjects.get(subject, {}))
        for key, bucket in list(inner.items()):
            kept = tuple(r for r in bucket if r[5] not in changed)
            if len(kept) != len(bucket):
                removed += len(bucket) - len(kept)
                if kept:
                    inner[key] = kept
                else:
                    del inner[key]
        if inner:
            subjects[subject] = inner
        else:
            subjects.pop(subject, None)
    for g in changed:
        grants.pop(g, None)
    for subject, new_inner in added.items():
        inner = dict(subjects.get(subject, {}))
        for key, bucket in new_inner.items():
            inner[key] = _order((*inner.get(key, EMPTY), *bucket), new_masked)
        subjects[subject] = inner
    grants.update(grant_subject)
    return PolicySnapshot(
        version=version,
        subjects=subjects,
        grant_subject=grants,
        masked=new_masked,
        rule_count=snapshot.rule_count - removed + added_count,
    )


class BucketEnforcer(casbin.Enforcer):
    """A pycasbin Enforcer that decides over one bucket of rules at a time (one thread)."""

    def __init__(self) -> None:
        model = Model()
        model.load_model_from_text(MODEL_TEXT)
        super().__init__(model)
        self._assertion = self.model["p"]["p"]
        self._expressions: dict[str, Any] = {}

    def _get_expression(self, expr: str, functions: Any = None) -> Any:
        # pycasbin parses and compiles the matcher on every call; the model is fixed, so
        # parse it once (each thread has its own evaluator, and so its own expression).
        expression = self._expressions.get(expr)
        if expression is None:
            expression = self._expressions[expr] = super()._get_expression(expr, functions)
        return expression

    def decide(self, bucket: Bucket, *request: str) -> tuple[bool, Sequence[str]]:
        """Return casbin's answer and the matching rule, over ``bucket`` only."""
        self._assertion.policy = bucket
        try:
            allowed, rule = self.enforce_ex(*request)
        finally:
            self._assertion.policy = EMPTY  # hold no reference to an old snapshot
        return bool(allowed), rule


class _PerThread(threading.local):
    evaluator: BucketEnforcer | None = None


_local = _PerThread()


def evaluator() -> BucketEnforcer:
    """Return this thread's evaluator."""
    found = _local.evaluator
    if found is None:
        found = _local.evaluator = BucketEnforcer()
    return found


def decide(
    snapshot: PolicySnapshot,
    *,
    system: str | None,
    department: str,
    resource_code: str,
    items: Sequence[str],
    purpose: str,
    day: str,
) -> Decision:
    """Decide a request for ``items`` of one resource against ``snapshot`` (one call)."""
    sys_subject = f"sys:{system}" if system else ""
    dept_subject = f"dept:{department}"
    own = snapshot.subjects.get(sys_subject) if system else None
    inherited = snapshot.subjects.get(dept_subject)
    allowed: list[str] = []
    denied: list[str] = []
    grant_ids: dict[str, int] = {}
    masked: dict[str, bool] = {}
    ev = evaluator()
    for item in dict.fromkeys(items):
        obj = f"{resource_code}:{item}"
        key = (obj, purpose)
        mine = own.get(key, EMPTY) if own else EMPTY
        theirs = inherited.get(key, EMPTY) if inherited else EMPTY
        # Both the system's own grants and its department's: one bucket, clear ones first.
        bucket = _order(mine + theirs, snapshot.masked) if mine and theirs else mine or theirs
        # No rule names this consumer, item and purpose (unknown names included): deny by
        # default without running casbin, whose answer over no rule is the same.
        ok, rule = (
            ev.decide(bucket, sys_subject, dept_subject, obj, "read", purpose, day)
            if bucket
            else (False, ())
        )
        if ok:
            allowed.append(item)
            grant_ids[item] = int(rule[5])
            masked[item] = rule[5] in snapshot.masked
        else:
            denied.append(item)
    return Decision(
        allowed_items=tuple(allowed),
        denied_items=tuple(denied),
        grant_ids=grant_ids,
        masked=masked,
        policy_version=snapshot.version,
    )
