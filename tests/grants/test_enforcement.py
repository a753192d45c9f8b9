"""casbin enforcement of the grants: who may read which items, for what, on which day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from exchange.core.db import utcnow
from exchange.demo.seed import SeedResult
from exchange.grants.enforcer import Decision
from exchange.grants.engine import GrantPolicy
from tests.grants.enforcement_support import (
    BACKOFFICE,
    ID_CARD,
    MARRIAGE,
    TAX,
    TRANSFER,
    WINDOW,
    ZRZYT,
    add_grant,
    change_grant,
    today,
)


def decide(
    app: FastAPI,
    items: list[str] | tuple[str, ...] = ("id_number",),
    *,
    system: str | None = WINDOW,
    department: str = ZRZYT,
    resource: str = ID_CARD,
    purpose: str = TRANSFER,
    **kw: object,
) -> Decision:
    policy: GrantPolicy = app.state.grant_policy
    return policy.decide(
        system=system,
        department=department,
        resource_code=resource,
        items=items,
        purpose=purpose,
        **kw,  # type: ignore[arg-type]
    )


def test_nothing_is_allowed_without_a_grant(app: FastAPI, demo_province: SeedResult) -> None:
    decision = decide(app, ["id_number", "name"])
    assert decision.allowed_items == () and not decision.allowed
    assert decision.denied_items == ("id_number", "name")


def test_a_department_grant_applies_to_the_department_and_each_of_its_systems(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db, items=["id_number", "name"])
    for system in (WINDOW, BACKOFFICE, None):
        decision = decide(app, ["id_number", "name", "address"], system=system)
        assert decision.allowed_items == ("id_number", "name"), system
        assert decision.denied_items == ("address",)
        assert decision.grant_ids == {"id_number": gid, "name": gid}
        assert decision.masked == {"id_number": False, "name": False}
    other = decide(app, ["id_number"], system="zj-mzt-backoffice", department="zj-mzt")
    assert other.denied_items == ("id_number",)


def test_a_system_grant_applies_to_that_system_only(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db, system=BACKOFFICE, items=["address"])
    assert decide(app, ["address"], system=BACKOFFICE).grant_ids == {"address": gid}
    assert decide(app, ["address"], system=WINDOW).denied_items == ("address",)
    assert decide(app, ["address"], system=None).denied_items == ("address",)


def test_the_purpose_must_be_one_of_the_grants_purposes(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    add_grant(db, purposes=[TRANSFER, "esf-transfer"])
    assert decide(app, purpose=TRANSFER).allowed
    assert decide(app, purpose="esf-transfer").allowed
    assert not decide(app, purpose=TAX).allowed
    assert not decide(app, purpose="").allowed


def test_dates_are_checked_at_decision_time_without_any_sweep(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    start, end = today() + timedelta(days=5), today() + timedelta(days=40)
    add_grant(db, starts_on=start, ends_on=end)
    assert not decide(app).allowed  # not started yet
    assert not decide(app, today=start - timedelta(days=1)).allowed
    assert decide(app, today=start).allowed
    assert decide(app, today=end).allowed
    assert not decide(app, today=end + timedelta(days=1)).allowed  # ended: at once


def test_a_grant_not_recertified_within_a_year_lapses_at_once(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    long_end = today() + timedelta(days=700)
    certified = today() - timedelta(days=200)
    add_grant(db, ends_on=long_end, certified_on=certified)
    deadline = certified.replace(year=certified.year + 1)
    assert decide(app).allowed
    assert decide(app, today=deadline).allowed
    assert not decide(app, today=deadline + timedelta(days=1)).allowed
    # Never certified: the year runs from the decision.
    add_grant(
        db,
        items=["address"],
        ends_on=long_end,
        certified_on=None,
        decided_at=utcnow() - timedelta(days=400),
        status="approved",
    )
    assert not decide(app, ["address"]).allowed


@pytest.mark.parametrize("status", ["pending", "refused", "revoked", "expired", "lapsed"])
def test_only_an_approved_grant_ever_allows(
    app: FastAPI, db: Session, demo_province: SeedResult, status: str
) -> None:
    add_grant(db, status=status)
    assert decide(app).denied_items == ("id_number",)


def test_a_revocation_denies_at_once_and_a_new_approval_allows(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    gid = add_grant(db)
    before = decide(app)
    assert before.allowed
    change_grant(db, gid, status="revoked", ended_at=utcnow())
    after = decide(app)
    assert not after.allowed and after.policy_version > before.policy_version
    again = add_grant(db)
    assert decide(app).grant_ids == {"id_number": again}


def test_unknown_names_are_denied_and_leave_the_policy_as_it_was(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    add_grant(db)
    policy: GrantPolicy = app.state.grant_policy
    subjects_before = len(policy.snapshot.subjects)
    assert not decide(app, ["no_such_item"]).allowed
    assert not decide(app, resource="399999/999999").allowed
    assert not decide(app, resource="not a code").allowed
    assert not decide(app, system="ghost-system", department="ghost-dept").allowed
    assert not decide(app, system=None, department="").allowed
    assert len(policy.snapshot.subjects) == subjects_before


def test_a_ten_item_request_is_decided_in_one_call_with_grants_and_masking(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    masked = add_grant(db, items=["id_number", "name", "gender"], masked=True)
    clear = add_grant(db, items=["name", "address"])
    items = [
        "id_number",
        "name",
        "gender",
        "address",
        "ethnicity",
        "birth_date",
        "issuing_authority",
        "valid_from",
        "valid_until",
        "photo",
        "name",
    ]
    decision = decide(app, items)
    assert decision.allowed_items == ("id_number", "name", "gender", "address")
    assert len(decision.denied_items) == 6  # the repeated "name" is decided once
    assert decision.grant_ids == {
        "id_number": masked,
        "name": clear,  # a grant in clear wins over a masked one
        "gender": masked,
        "address": clear,
    }
    assert decision.masked == {"id_number": True, "name": False, "gender": True, "address": False}


def test_other_resources_of_the_same_items_are_not_covered(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    add_grant(db, items=["id_number", "name"])
    assert not decide(app, ["id_number", "name"], resource=MARRIAGE).allowed


def test_a_department_grant_in_clear_wins_over_the_systems_masked_one(
    app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    add_grant(db, system=WINDOW, items=["id_number"], masked=True)
    clear = add_grant(db, items=["id_number"])
    decision = decide(app, ["id_number"], system=WINDOW)
    assert decision.grant_ids == {"id_number": clear}
    assert decision.masked == {"id_number": False}
