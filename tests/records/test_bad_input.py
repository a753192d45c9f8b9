"""Bad input and attacks: each is refused with the right status and leaves a denied entry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.bindings import repository as bindings_repo
from tests.records.support import (
    BUYER,
    ID_CARD,
    ID_ITEMS,
    MARRIAGE,
    PIT,
    SELLER,
    SOCIAL_INSURANCE,
    TRANSFER,
    WINDOW,
    entries,
    grant_esf_transfer,
    headers,
    last_seq,
    lookup,
)

BAD_CHECK_DIGIT = "330106197803154218"


@pytest.fixture
def granted(hub: TestClient, app: FastAPI) -> Iterator[TestClient]:
    """The hub with zj-zrzyt's 二手房交易过户 grants approved."""
    grant_esf_transfer(hub, app)
    yield hub


def _one_denied(app: FastAPI, before: int, **expected: Any) -> AuditEntry:
    found = entries(app, before)
    assert len(found) == 1, [(e.decision, e.reason) for e in found]
    entry = found[0]
    assert entry.decision == "denied"
    assert entry.items_returned == [] and entry.record_count == 0 and entry.response_hash is None
    for name, value in expected.items():
        assert getattr(entry, name) == value, name
    return entry


def test_a_department_pulling_for_a_purpose_it_holds_no_grant_for(
    granted: TestClient, app: FastAPI
) -> None:
    before = last_seq(app)
    # zj-zrzyt holds ID card grants for 转移登记, not for 结婚登记 (a real service item).
    response = lookup(granted, app, ID_CARD, purpose="330000-MZ-001")
    assert response.status_code == 403
    assert response.json()["denied_items"] == ID_ITEMS
    entry = _one_denied(
        app,
        before,
        outcome=403,
        system=WINDOW,
        department="zj-zrzyt",
        resource_code=ID_CARD,
        provider="zj-gat",
        items_requested=ID_ITEMS,
        purpose="330000-MZ-001",
        subject_key=SELLER,
    )
    assert "no grant of zj-zrzyt covers" in (entry.reason or "")
    # partial=allow changes nothing when no item at all is granted.
    assert (
        lookup(granted, app, ID_CARD, purpose="330000-MZ-001", partial="allow").status_code == 403
    )


def test_items_beyond_the_grant_are_named(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, items=["name", "photo"])
    assert response.status_code == 403
    problem = response.json()
    assert problem["denied_items"] == ["photo"] and "photo" in problem["detail"]
    entry = _one_denied(app, before, outcome=403, items_requested=["name", "photo"])
    assert "items outside the grant" in (entry.reason or "") and "photo" in (entry.reason or "")


def test_items_star_is_refused(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, items=["*"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items[0]"
    entry = _one_denied(app, before, outcome=422, items_requested=["*"], purpose=TRANSFER)
    assert '"*" is not accepted' in (entry.reason or "")


def test_unknown_items_are_named(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, items=["name", "salary"])
    assert response.status_code == 422
    assert "salary" in response.json()["detail"]
    _one_denied(app, before, outcome=422, items_requested=["name", "salary"])


def test_a_purpose_that_is_not_a_service_item(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, purpose="just-curious")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "purpose", "message": response.json()["detail"]}]
    entry = _one_denied(app, before, outcome=422, purpose="just-curious", system=WINDOW)
    assert "not a service item" in (entry.reason or "")


def test_a_case_of_another_department(granted: TestClient, app: FastAPI) -> None:
    # Issue 6 fills the hook; until then a test names the case's department.
    async def owner(case_id: str) -> str | None:
        return "zj-gat" if case_id == "GA-2026-0042" else None

    app.state.case_owner = owner
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, case_id="GA-2026-0042")
    assert response.status_code == 403
    assert "belongs to another department" in response.json()["detail"]
    _one_denied(app, before, outcome=403, case_id="GA-2026-0042", department="zj-zrzyt")
    # An unknown case id is free text: allowed and logged with it.
    assert lookup(granted, app, ID_CARD, case_id="ZR-2026-0007").status_code == 200
    assert entries(app)[-1].case_id == "ZR-2026-0007"


def test_a_key_failing_its_check_digit_is_refused_before_any_source(
    granted: TestClient, app: FastAPI
) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, keys=[SELLER, BAD_CHECK_DIGIT])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "keys[1]", "message": "check digit does not match (GB 11643)"}
    ]
    found = entries(app, before)
    assert [(e.subject_key, e.decision, e.outcome) for e in found] == [
        (SELLER, "denied", 422),
        (BAD_CHECK_DIGIT, "denied", 422),
    ]
    assert "keys[1]: check digit does not match" in (found[1].reason or "")
    # No connector was even built: nothing was asked of any source.
    assert ID_CARD not in app.state.connector_pool.cached()


def test_a_key_of_the_wrong_type_is_refused(granted: TestClient, app: FastAPI) -> None:
    response = lookup(granted, app, ID_CARD, keys=[330106197803154217])  # a number
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "keys[0]"
    assert entries(app)[-1].decision == "denied"


def test_a_batch_over_the_maximum(granted: TestClient, app: FastAPI) -> None:
    maximum = app.state.settings.records_max_batch
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, keys=[SELLER] * (maximum + 1))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "keys"
    # One entry, not one per key: a flood of keys must not flood the log.
    entry = _one_denied(app, before, outcome=422, subject_key=None, items_requested=ID_ITEMS)
    assert f"at most {maximum} keys" in (entry.reason or "")


@pytest.mark.parametrize("streamed", [False, True], ids=["declared-length", "streamed"])
def test_a_body_over_the_size_limit(granted: TestClient, app: FastAPI, streamed: bool) -> None:
    limit = app.state.settings.max_body_bytes
    body = b'{"keys": ["' + b"3" * (limit + 10) + b'"], "items": ["name"], "purpose": "x"}'
    before = last_seq(app)
    url = f"/v1/records/{ID_CARD}/lookup"
    content: Any = (
        iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if streamed else body
    )
    response = granted.post(url, content=content, headers=headers(app, WINDOW))
    assert response.status_code == 413
    entry = _one_denied(
        app, before, outcome=413, system=WINDOW, department="zj-zrzyt", resource_code=ID_CARD
    )
    assert f"over the limit of {limit} bytes" in (entry.reason or "")
    assert entry.items_requested == [] and entry.purpose is None  # the body was never read


def test_only_department_systems_pull_records(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    response = lookup(granted, app, ID_CARD, who="zrzyt-admin")
    assert response.status_code == 403
    _one_denied(app, before, outcome=403, system="user:zrzyt-admin", department="zj-zrzyt")
    assert lookup(granted, app, ID_CARD, who="province-admin").status_code == 403


def test_no_token_is_401_and_reaches_no_decision(granted: TestClient, app: FastAPI) -> None:
    before = last_seq(app)
    body = {"keys": [SELLER], "items": ["name"], "purpose": TRANSFER}
    response = granted.post(f"/v1/records/{ID_CARD}/lookup", json=body)
    assert response.status_code == 401
    assert entries(app, before) == []


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("301999001/000001", 404, "no resource"),
        ("not-a-code", 404, "no resource"),
        (PIT, 403, "不予共享"),
    ],
)
def test_resources_that_cannot_be_pulled(
    granted: TestClient, app: FastAPI, code: str, status: int, words: str
) -> None:
    before = last_seq(app)
    response = lookup(granted, app, code, items=["name"])
    assert response.status_code == status
    assert words in response.json()["detail"]
    entry = _one_denied(app, before, outcome=status, resource_code=code)
    if code == PIT:  # the refusal cites the entry's legal basis
        assert "税收征收管理法" in response.json()["legal_basis"]
        assert "税收征收管理法" in (entry.reason or "")


def test_a_resource_not_published(granted: TestClient, app: FastAPI, db: Session) -> None:
    from catalogs.resources.repository import by_code

    resource = by_code(db, MARRIAGE)
    assert resource is not None
    resource.status = "retired"
    db.commit()
    response = lookup(granted, app, MARRIAGE, items=["marital_status"])
    assert response.status_code == 409 and "retired" in response.json()["detail"]
    resource.status = "draft"
    db.commit()
    app.state.records_catalogue.invalidate()
    response = lookup(granted, app, MARRIAGE, items=["marital_status"])
    assert response.status_code == 404 and "not published" in response.json()["detail"]
    assert [e.outcome for e in entries(app)[-2:]] == [409, 404]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b'{"keys": [], "items": ["name"], "purpose": "330000-ZR-001"}', "keys"),
        (b'{"keys": ["x"], "items": ["name"]}', "purpose"),
        (b'{"keys": ["x"], "items": ["name"], "purpose": "p", "partial": "maybe"}', "partial"),
        (b'{"keys": ["x"], "items": ["name"], "purpose": "p", "extra": 1}', "extra"),
        (b'["a list"]', "body"),
    ],
)
def test_malformed_bodies_are_refused_and_logged(
    granted: TestClient, app: FastAPI, body: bytes, field: str
) -> None:
    before = last_seq(app)
    response = granted.post(
        f"/v1/records/{ID_CARD}/lookup",
        content=body,
        headers={**headers(app, WINDOW), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    entry = _one_denied(app, before, outcome=422, resource_code=ID_CARD)
    assert entry.reason


def test_the_get_route_names_a_missing_parameter(granted: TestClient, app: FastAPI) -> None:
    response = granted.get(f"/v1/records/{ID_CARD}?items=name", headers=headers(app, WINDOW))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "key"
    assert entries(app)[-1].decision == "denied"
    # A parameter FastAPI itself refuses (too long) is logged all the same.
    before = last_seq(app)
    url = f"/v1/records/{ID_CARD}?key={'3' * 5000}&items=name&purpose={TRANSFER}"
    response = granted.get(url, headers=headers(app, WINDOW))
    assert response.status_code == 422
    entry = _one_denied(app, before, outcome=422, resource_code=ID_CARD, system=WINDOW)
    assert "invalid request" in (entry.reason or "")


def test_a_source_failure_is_503_with_a_source_error_entry_and_retry_after(
    granted: TestClient, app: FastAPI, db: Session
) -> None:
    # 人社's API moved; the binding still names the old address. One failure opens the
    # breaker, which then knows when it will try again.
    row = bindings_repo.by_code(db, SOCIAL_INSURANCE)
    assert row is not None
    row.config = {**row.config, "url": "http://127.0.0.1:1/api/v1/cbxx/query"}
    row.resilience = {"breaker_failures": 1, "retries": 0}
    db.commit()
    before = last_seq(app)
    ask = {"keys": [BUYER], "items": ["name"], "purpose": "330000-ZJ-001"}
    first = lookup(granted, app, SOCIAL_INSURANCE, **ask)
    assert first.status_code == 503, first.text
    assert first.json()["source_reason"] == "unreachable"
    assert "王晓明" not in first.text
    # Nor where the department's system is: the caller is another department.
    assert "127.0.0.1" not in first.text and "cbxx" not in first.text
    second = lookup(granted, app, SOCIAL_INSURANCE, **ask)
    assert second.status_code == 503 and second.json()["source_reason"] == "circuit_open"
    assert int(second.headers["Retry-After"]) >= 1
    found = entries(app, before)
    assert [(e.decision, e.outcome) for e in found] == [("source_error", 503)] * 2
    assert found[0].subject_key == BUYER and found[0].provider == "zj-rlsbt"
    assert found[0].grant_ids  # the grant was checked first: only then is a source asked


def test_an_unbound_resource_is_503(granted: TestClient, app: FastAPI, db: Session) -> None:
    row = bindings_repo.by_code(db, MARRIAGE)
    assert row is not None
    row.enabled = False
    db.commit()
    response = lookup(granted, app, MARRIAGE, items=["marital_status"])
    assert response.status_code == 503 and response.json()["source_reason"] == "not_bound"
    assert "Retry-After" not in response.headers
    assert entries(app)[-1].decision == "source_error"


def test_a_revoked_grant_stops_the_very_next_pull(hub: TestClient, app: FastAPI) -> None:
    grants = grant_esf_transfer(hub, app)
    assert lookup(hub, app, ID_CARD).status_code == 200
    grant = next(g for g in grants if g["resource"] == ID_CARD)
    revoked = hub.post(
        f"/v1/grants/{grant['id']}/revoke",
        json={"reason": "测试：撤销授权"},
        headers=headers(app, "gat-admin"),
    )
    assert revoked.status_code == 200, revoked.text
    response = lookup(hub, app, ID_CARD)
    assert response.status_code == 403
    assert entries(app)[-1].decision == "denied"
