"""The grant policy in SQL: casbin rules derived from the grants, and the policy version.

Every change that can alter a decision calls ``bump_policy_version(session)`` in the same
transaction. That call

1. rewrites, through pycasbin's SQLAlchemy adapter working in the caller's transaction,
   the casbin rules of every grant this transaction changed (tracked on flush; pass
   ``grant_ids`` for grants changed by bulk SQL), so ``casbin_rule`` never disagrees
   with ``grants`` after a commit;
2. increments ``policy_state.version`` and logs the changed grants in ``policy_changes``
   (other processes then reload only those grants);
3. on PostgreSQL sends ``NOTIFY datarun_policy, '<version>'``, which PostgreSQL delivers
   at commit (never for a rolled-back change);
4. after commit, runs the hooks registered for the database (Redis publish, local reload).

One rule per granted (信息项, purpose): ``p, <subject>, <resource_code>:<item_code>,
<purpose>, <first day>, <last day>, <grant id>`` where the subject is ``dept:<code>`` for a
department-wide grant and ``sys:<client_id>`` for a grant to one system; the last day is
the earlier of the grant's end and its re-certification deadline, so an expired or lapsed
grant stops at once whether or not a sweep has run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, aliased
from sqlalchemy_adapter import Adapter

from catalogs.departments.models import Department
from catalogs.resources.models import Resource
from exchange.core.db import utcnow
from exchange.grants import rules
from exchange.grants.hooks import hooks_for
from exchange.grants.models import CasbinRule, Grant, PolicyChange, PolicyState
from exchange.identity.models import System
from exchange.observability.dberrors import describe_db_error, is_connection_error

log = logging.getLogger("datarun.grants.policy")

CHANNEL = "datarun_policy"  # PostgreSQL NOTIFY channel and Redis pub/sub channel
HUB_TZ = ZoneInfo("Asia/Shanghai")  # grant dates are civil dates in China
Rule = tuple[str, str, str, str, str, str]
# Keep this many versions of the change log; a process further behind rebuilds fully.
CHANGE_LOG_KEEP = 10_000

_TRACKED = "datarun.policy.changed_grants"
_BUMPED = "datarun.policy.bumped_versions"
_MASKING = "datarun.policy.masking_changed"


def hub_today() -> date:
    """Return today's civil date in China (grant periods are such dates)."""
    return datetime.now(HUB_TZ).date()


def department_subject(code: str) -> str:
    """Return the casbin subject of a department (every system of it inherits)."""
    return f"dept:{code}"


def system_subject(client_id: str) -> str:
    """Return the casbin subject of one registered system."""
    return f"sys:{client_id}"


def last_day_in_force(
    *, ends_on: date, certified_on: date | None, decided_at: datetime | None
) -> date:
    """Return the last day an approved grant gives access: its end or its 复核 deadline."""
    base = certified_on or (decided_at.astimezone(HUB_TZ).date() if decided_at else None)
    deadline = rules.recertify_by(base)
    return min(ends_on, deadline) if deadline else ends_on


def grant_rules(
    *,
    grant_id: int,
    status: str,
    department: str,
    system: str | None,
    resource_code: str,
    items: Sequence[str],
    purposes: Sequence[str],
    starts_on: date,
    ends_on: date,
    certified_on: date | None,
    decided_at: datetime | None,
) -> list[Rule]:
    """Return the casbin rules of one grant: none unless it is approved."""
    if status != rules.APPROVED:
        return []
    last = last_day_in_force(ends_on=ends_on, certified_on=certified_on, decided_at=decided_at)
    if last < starts_on:
        return []
    subject = system_subject(system) if system else department_subject(department)
    first, until, gid = starts_on.isoformat(), last.isoformat(), str(grant_id)
    return [
        (subject, f"{resource_code}:{item}", purpose, first, until, gid)
        for item in dict.fromkeys(items)
        for purpose in dict.fromkeys(purposes)
    ]


class SessionAdapter(Adapter):
    """pycasbin's SQLAlchemy adapter (``sqlalchemy-adapter``) inside the caller's transaction.

    The stock adapter opens and commits a session per call; here every call runs in the
    session that changes the grant, so the rules commit (or roll back) with it.
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session.get_bind(), db_class=CasbinRule, create_table=False)
        self._session = session

    @contextmanager
    def _session_scope(self) -> Any:
        yield self._session


# --- which grants a transaction changed ------------------------------------------------


@event.listens_for(Session, "after_flush")
def _track_grants(session: Session, _context: Any) -> None:
    changed: set[int] = set()
    masking: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Grant):
            changed.add(obj.id)
            # The masked flag is not in the rules; a change of it alone is still a change.
            if sa_inspect(obj).attrs.masked.history.has_changes():
                masking.add(obj.id)
    if changed:
        session.info.setdefault(_TRACKED, set()).update(changed)
    if masking:
        session.info.setdefault(_MASKING, set()).update(masking)


def _grant_rows() -> Any:
    consumer = aliased(Department)
    return (
        select(
            Grant.id,
            Grant.status,
            consumer.code,
            System.client_id,
            Resource.code,
            Grant.items,
            Grant.purposes,
            Grant.starts_on,
            Grant.ends_on,
            Grant.certified_on,
            Grant.decided_at,
        )
        .join(consumer, consumer.id == Grant.consumer_department_id)
        .join(Resource, Resource.id == Grant.resource_id)
        .outerjoin(System, System.id == Grant.consumer_system_id)
    )


_STORED = select(
    CasbinRule.v0, CasbinRule.v1, CasbinRule.v2, CasbinRule.v3, CasbinRule.v4, CasbinRule.v5
).where(CasbinRule.ptype == "p")


def _sync_tracked(session: Session, extra: Iterable[int] = ()) -> set[int]:
    """Rewrite the rules of the grants changed so far; return those whose rules changed."""
    session.flush()
    ids: set[int] = session.info.pop(_TRACKED, set()) | set(extra)
    if not ids:
        return set()
    keys = sorted(str(g) for g in ids)
    wanted: dict[str, set[Rule]] = {}
    for row in session.execute(_grant_rows().where(Grant.id.in_(sorted(ids)))):
        wanted[str(row[0])] = set(grant_rules(**_row_args(row)))
    stored: dict[str, set[Rule]] = {}
    for r in session.execute(_STORED.where(CasbinRule.v5.in_(keys))):
        stored.setdefault(str(r[5]), set()).add(tuple(r))  # type: ignore[arg-type]
    masking = {str(g) for g in session.info.pop(_MASKING, set())}
    changed = [
        g
        for g in keys
        if wanted.get(g, set()) != stored.get(g, set()) or (g in masking and wanted.get(g))
    ]
    adapter = SessionAdapter(session)
    for gid in changed:
        adapter.remove_filtered_policy("p", "p", 5, gid)
        if wanted.get(gid):
            adapter.add_policies("p", "p", [list(r) for r in sorted(wanted[gid])])
    session.flush()
    return {int(g) for g in changed}


def _row_args(row: Any) -> dict[str, Any]:
    gid, status, dept, system, resource, items, purposes, start, end, certified, decided = row
    return {
        "grant_id": gid,
        "status": status,
        "department": dept,
        "system": system,
        "resource_code": resource,
        "items": items,
        "purposes": purposes,
        "starts_on": start,
        "ends_on": end,
        "certified_on": certified,
        "decided_at": decided,
    }


def bump_policy_version(session: Session, *, grant_ids: Iterable[int] = ()) -> int:
    """Sync the changed grants' casbin rules and increment the policy version (one txn).

    Grants changed through the ORM in this transaction are found on their own; name any
    changed by bulk SQL in ``grant_ids``. (An ORM change to a grant's rules is synced and
    versioned at commit even without this call; the call makes the bump explicit.)
    """
    changed = _sync_tracked(session, grant_ids)
    version = _increment(session)
    session.add(PolicyChange(version=version, grant_ids=sorted(changed)))
    session.flush()
    _after_bump(session, version)
    return version


def _increment(session: Session) -> int:
    version: int = session.execute(
        update(PolicyState)
        .where(PolicyState.id == 1)
        .values(version=PolicyState.version + 1, updated_at=utcnow())
        .returning(PolicyState.version)
    ).scalar_one()
    if version > CHANGE_LOG_KEEP:
        session.execute(
            delete(PolicyChange).where(PolicyChange.version <= version - CHANGE_LOG_KEEP)
        )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered by PostgreSQL at commit, and never if the transaction rolls back.
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": str(version)},
        )
    return version


def _after_bump(session: Session, version: int) -> None:
    session.info.setdefault(_BUMPED, []).append(version)


@event.listens_for(Session, "before_commit")
def _sync_at_commit(session: Session) -> None:
    # Grants changed after the last bump (or with no bump at all) must not leave casbin_rule
    # behind: sync them, and if their rules changed, make it a policy version too.
    if any(isinstance(o, Grant) for o in (*session.new, *session.dirty, *session.deleted)):
        session.flush()  # so that unflushed grant changes are tracked
    if not session.info.get(_TRACKED):
        return
    changed = _sync_tracked(session)
    if not changed:
        return
    bumped: list[int] | None = session.info.get(_BUMPED)
    change = session.get(PolicyChange, bumped[-1]) if bumped else None
    if change is not None:
        change.grant_ids = sorted(set(change.grant_ids or []) | changed)
    else:
        version = _increment(session)
        session.add(PolicyChange(version=version, grant_ids=sorted(changed)))
        _after_bump(session, version)
    session.flush()


def full_resync(session: Session) -> int:
    """Rebuild every casbin rule from the grants (repair, bulk changes); return the version.

    Only the differences are written (bulk Core statements); processes then rebuild fully.
    """
    session.flush()
    wanted: dict[str, set[Rule]] = {}
    for row in session.execute(_grant_rows().where(Grant.status == rules.APPROVED)):
        for rule in grant_rules(**_row_args(row)):
            wanted.setdefault(rule[5], set()).add(rule)
    have: dict[str, set[Rule]] = {}
    for r in session.execute(_STORED):
        have.setdefault(r[5], set()).add(tuple(r))  # type: ignore[arg-type]
    stale = [gid for gid in have if have[gid] != wanted.get(gid)]
    for start in range(0, len(stale), 500):
        chunk = stale[start : start + 500]
        session.execute(delete(CasbinRule).where(CasbinRule.ptype == "p", CasbinRule.v5.in_(chunk)))
    fresh = [r for gid, rs in wanted.items() if have.get(gid) != rs for r in sorted(rs)]
    if fresh:
        session.execute(insert(CasbinRule), [_rule_row(r) for r in fresh])
    session.info.pop(_TRACKED, None)
    version = _increment(session)
    session.add(PolicyChange(version=version, grant_ids=None))
    _after_bump(session, version)
    return version


def _rule_row(rule: Rule) -> dict[str, str]:
    return {"ptype": "p", **{f"v{i}": v for i, v in enumerate(rule)}}


# --- hooks after commit: Redis publish, local reload -----------------------------------


@event.listens_for(Session, "after_commit")
def _run_commit_hooks(session: Session) -> None:
    bumped: list[int] | None = session.info.pop(_BUMPED, None)
    session.info.pop(_TRACKED, None)
    session.info.pop(_MASKING, None)
    if not bumped:
        return
    for hook in hooks_for(session.get_bind()):  # type: ignore[arg-type]
        try:
            hook(max(bumped))
        except Exception as exc:  # a hook failing must never fail the committed change
            log.error(
                "policy commit hook failed (version %s): %s",
                max(bumped),
                describe_db_error(exc),
                exc_info=not is_connection_error(exc),  # a traceback for a bug only
            )


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_BUMPED, None)
    session.info.pop(_TRACKED, None)
    session.info.pop(_MASKING, None)
