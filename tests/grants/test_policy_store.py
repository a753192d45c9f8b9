"""The casbin policy in SQL: derived from the grants in the same transaction, versioned."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.demo.seed import SeedResult
from exchange.grants import engine as policy_engine
from exchange.grants.engine import GrantPolicy
from exchange.grants.models import CasbinRule, Grant, PolicyChange, PolicyState
from exchange.grants.policy import bump_policy_version, full_resync
from tests.grants.enforcement_support import (
    BACKOFFICE,
    ID_CARD,
    TRANSFER,
    WINDOW,
    ZRZYT,
    add_grant,
    change_grant,
    today,
)


def stored_rules(db: Session) -> set[tuple[str | None, ...]]:
    db.expire_all()
    rows = db.execute(
        select(
            CasbinRule.ptype,
            CasbinRule.v0,
            CasbinRule.v1,
            CasbinRule.v2,
            CasbinRule.v3,
            CasbinRule.v4,
            CasbinRule.v5,
        )
    ).all()
    db.rollback()
    return {tuple(r) for r in rows}


def version(db: Session) -> int:
    db.expire_all()
    value = db.scalar(select(PolicyState.version).where(PolicyState.id == 1))
    db.rollback()
    return int(value or 0)


def test_an_approved_grant_is_stored_as_one_casbin_rule_per_item_and_purpose(
    db: Session, demo_province: SeedResult
) -> None:
    start, end = today(), today() + timedelta(days=30)
    gid = add_grant(
        db,
        items=["id_number", "name"],
        purposes=[TRANSFER, "esf-transfer"],
        starts_on=start,
        ends_on=end,
    )
    first, last, g = start.isoformat(), end.isoformat(), str(gid)
    assert stored_rules(db) == {
        ("p", "dept:zj-zrzyt", f"{ID_CARD}:id_number", TRANSFER, first, last, g),
        ("p", "dept:zj-zrzyt", f"{ID_CARD}:id_number", "esf-transfer", first, last, g),
        ("p", "dept:zj-zrzyt", f"{ID_CARD}:name", TRANSFER, first, last, g),
        ("p", "dept:zj-zrzyt", f"{ID_CARD}:name", "esf-transfer", first, last, g),
    }
    change_grant(db, gid, status="revoked", ended_at=utcnow())
    assert stored_rules(db) == set()


def test_the_last_day_is_the_end_or_the_recertification_deadline(
    db: Session, demo_province: SeedResult
) -> None:
    certified = today() - timedelta(days=100)
    add_grant(db, system=BACKOFFICE, certified_on=certified, ends_on=today() + timedelta(days=900))
    (rule,) = {r for r in stored_rules(db) if r[2].endswith(":id_number")}  # type: ignore[union-attr]
    assert rule[1] == f"sys:{BACKOFFICE}"
    assert rule[5] == certified.replace(year=certified.year + 1).isoformat()


def test_a_rolled_back_change_leaves_rules_and_version_untouched(
    db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db)
    rules, before = stored_rules(db), version(db)
    grant = db.get(Grant, gid)
    assert grant is not None
    grant.status = "revoked"
    bump_policy_version(db)
    db.rollback()
    assert stored_rules(db) == rules and version(db) == before


def test_a_change_committed_without_a_bump_is_still_synced_and_versioned(
    db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db)
    before = version(db)
    change_grant(db, gid, bump=False, ends_on=today() + timedelta(days=3))
    assert version(db) == before + 1
    assert {r[5] for r in stored_rules(db)} == {(today() + timedelta(days=3)).isoformat()}
    db.expire_all()
    change = db.get(PolicyChange, before + 1)
    assert change is not None and change.grant_ids == [gid]


def test_changes_that_alter_no_decision_do_not_bump_the_version(
    db: Session, demo_province: SeedResult
) -> None:
    pending = add_grant(db, status="pending", bump=False)
    before = version(db)
    change_grant(db, pending, bump=False, due_on=today() + timedelta(days=14))
    change_grant(db, pending, bump=False, status="refused", decision_reason="不需要")
    assert version(db) == before


def test_changes_after_the_bump_in_the_same_transaction_are_synced_too(
    db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db)
    grant = db.get(Grant, gid)
    assert grant is not None
    grant.items = ["id_number"]
    bump_policy_version(db)
    grant.items = ["id_number", "address"]  # after the bump, before the commit
    db.commit()
    items = {r[2].rsplit(":", 1)[1] for r in stored_rules(db)}  # type: ignore[union-attr]
    assert items == {"id_number", "address"}


def test_masking_a_grant_is_a_policy_change(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db)
    policy: GrantPolicy = app.state.grant_policy
    decide = dict(
        system=WINDOW,
        department=ZRZYT,
        resource_code=ID_CARD,
        items=["id_number"],
        purpose=TRANSFER,
    )
    assert policy.decide(**decide).masked == {"id_number": False}  # type: ignore[arg-type]
    before = version(db)
    change_grant(db, gid, bump=False, masked=True)
    assert version(db) == before + 1
    assert policy.decide(**decide).masked == {"id_number": True}  # type: ignore[arg-type]


def test_a_commit_in_this_process_applies_before_commit_returns(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    policy: GrantPolicy = app.state.grant_policy
    assert policy.version == version(db)  # loaded
    gid = add_grant(db)
    assert policy.snapshot.version == version(db)
    assert gid in {int(g) for g in policy.snapshot.grant_subject}


def test_incremental_reloads_agree_with_a_full_rebuild(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    policy: GrantPolicy = app.state.grant_policy
    policy.refresh()
    rng = random.Random(42)
    items = ["id_number", "name", "gender", "address", "photo"]
    systems = [None, WINDOW, BACKOFFICE]
    grants: list[int] = []
    for step in range(30):
        action = rng.choice(["add", "add", "revoke", "narrow", "mask", "dates"])
        if action == "add" or not grants:
            grants.append(
                add_grant(
                    db,
                    system=rng.choice(systems),
                    items=rng.sample(items, 2),
                    purposes=rng.sample([TRANSFER, "esf-transfer"], rng.randint(1, 2)),
                    masked=rng.random() < 0.3,
                )
            )
        else:
            gid = rng.choice(grants)
            changes: dict[str, object] = {
                "revoke": {"status": "revoked"},
                "narrow": {"items": rng.sample(items, 1)},
                "mask": {"masked": rng.random() < 0.5},
                "dates": {"ends_on": today() + timedelta(days=rng.randint(1, 90))},
            }[action]  # type: ignore[assignment]
            change_grant(db, gid, **changes)  # type: ignore[arg-type]
        patched = policy.snapshot  # refreshed incrementally by the commit hook
        full = policy_engine.load_snapshot(app.state.engine)
        assert patched.version == full.version, step
        assert patched.subjects == full.subjects, step
        assert patched.masked == full.masked and patched.rule_count == full.rule_count


def test_a_full_resync_repairs_a_damaged_rule_table(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    add_grant(db, items=["id_number", "name"])
    add_grant(db, system=WINDOW, items=["address"])
    good = stored_rules(db)
    db.execute(delete(CasbinRule).where(CasbinRule.v1 == f"{ID_CARD}:name"))
    db.execute(
        insert(CasbinRule).values(
            ptype="p",
            v0="dept:zj-mzt",
            v1=f"{ID_CARD}:photo",
            v2=TRANSFER,
            v3="2000-01-01",
            v4="2999-12-31",
            v5="999",
        )
    )
    db.commit()
    before = version(db)
    full_resync(db)
    db.commit()
    assert stored_rules(db) == good and version(db) == before + 1
    db.expire_all()
    change = db.get(PolicyChange, before + 1)
    assert change is not None and change.grant_ids is None  # every process rebuilds fully
    policy: GrantPolicy = app.state.grant_policy
    assert policy.snapshot.rule_count == len(good)
