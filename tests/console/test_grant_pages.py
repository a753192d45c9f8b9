"""Grant pages: the provider's inbox, decisions with narrowing and reasons, requests, views."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.grants import views
from exchange.grants.models import Grant
from tests.grants.support import file_request, set_dates, today


def _grant(db: Session, grant_id: int) -> Grant:
    db.expire_all()
    found = db.get(Grant, grant_id)
    assert found is not None
    return found


def _row(html: str, grant_id: int) -> str:
    found = re.search(
        rf'<tr class="([^"]*)">\s*<td><a href="/console/grants/{grant_id}">.*?</tr>', html, re.S
    )
    assert found, f"grant {grant_id} is not listed"
    return found.group(0)


def test_the_inbox_shows_working_days_left_and_highlights_overdue(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    fresh = file_request(client, app)
    late = file_request(client, app, items=["id_number"], purposes=["esf-transfer"])
    set_dates(db, late["id"], due_on=today() - timedelta(days=20))
    inbox = as_person("gat-admin").get("/console/grants?view=inbox").text
    row = _row(inbox, fresh["id"])
    assert 'class=""' in row and "剩余" in row and "个工作日" in row
    assert "已超期" in _row(inbox, late["id"]) and 'class="overdue"' in _row(inbox, late["id"])
    only_late = as_person("gat-admin").get("/console/grants?view=inbox&overdue=true").text
    assert f"/console/grants/{late['id']}" in only_late
    assert f'/console/grants/{fresh["id"]}"' not in only_late
    # The consumer sees the same requests under its own requests, not in its inbox.
    consumer = as_person("zrzyt-admin")
    assert f"/console/grants/{fresh['id']}" in consumer.get("/console/grants?view=requests").text
    assert f"/console/grants/{fresh['id']}" not in consumer.get("/console/grants?view=inbox").text
    home = as_person("gat-admin").get("/console/").text
    assert "其中 1 条已超期" in home


def test_approve_with_narrowed_items_and_period(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    admin = as_person("gat-admin")
    page = admin.get(f"/console/grants/{grant['id']}").text
    assert 'id="approve-form"' in page and 'id="refuse-form"' in page
    ends = today() + timedelta(days=90)
    response = admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={
            "csrf_token": admin.csrf,
            "items": ["id_number", "name"],
            "ends_on": ends.isoformat(),
            "reason": "地址不在本事项所需范围内",
        },
    )
    assert response.status_code == 200 and "已批准。" in response.text
    stored = _grant(db, grant["id"])
    assert stored.status == "approved" and stored.items == ["id_number", "name"]
    assert stored.ends_on == ends
    assert 'id="revoke-form"' in response.text and 'id="recertify-form"' in response.text


def test_widening_or_no_items_is_refused_beside_the_field(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    admin = as_person("gat-admin")
    none = admin.post(f"/console/grants/{grant['id']}/approve", data={"csrf_token": admin.csrf})
    assert none.status_code == 422 and "至少勾选一个信息项" in none.text
    wider = admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={"csrf_token": admin.csrf, "items": ["id_number", "photo"]},
    )
    assert wider.status_code == 422 and "photo" in wider.text
    later = admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={
            "csrf_token": admin.csrf,
            "items": ["id_number"],
            "ends_on": (today() + timedelta(days=3000)).isoformat(),
        },
    )
    assert later.status_code == 422 and 'id="ends_on-error"' in later.text
    assert _grant(db, grant["id"]).status == "pending"


def test_refuse_needs_a_reason_and_records_it(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    admin = as_person("gat-admin")
    empty = admin.post(
        f"/console/grants/{grant['id']}/refuse", data={"csrf_token": admin.csrf, "reason": "  "}
    )
    assert empty.status_code == 422
    assert '<span class="field-error" id="reason-error">请填写理由</span>' in empty.text
    assert _grant(db, grant["id"]).status == "pending"
    done = admin.post(
        f"/console/grants/{grant['id']}/refuse",
        data={"csrf_token": admin.csrf, "reason": "申请理由与事项不符"},
    )
    assert done.status_code == 200 and "申请理由与事项不符" in done.text
    assert _grant(db, grant["id"]).status == "refused"
    again = admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={"csrf_token": admin.csrf, "items": ["id_number"]},
    )
    assert again.status_code == 409


def test_recertify_then_revoke(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    admin = as_person("gat-admin")
    admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={"csrf_token": admin.csrf, "items": ["id_number"]},
    )
    set_dates(db, grant["id"], certified_on=today() - timedelta(days=300))
    recertified = admin.post(
        f"/console/grants/{grant['id']}/recertify",
        data={"csrf_token": admin.csrf, "reason": "年度复核"},
    )
    assert recertified.status_code == 200 and "已复核。" in recertified.text
    assert _grant(db, grant["id"]).certified_on == today()
    no_reason = admin.post(f"/console/grants/{grant['id']}/revoke", data={"csrf_token": admin.csrf})
    assert no_reason.status_code == 422 and _grant(db, grant["id"]).status == "approved"
    revoked = admin.post(
        f"/console/grants/{grant['id']}/revoke",
        data={"csrf_token": admin.csrf, "reason": "业务调整"},
    )
    assert revoked.status_code == 200 and _grant(db, grant["id"]).status == "revoked"
    assert "撤销" in revoked.text and "业务调整" in revoked.text


def test_another_department_cannot_decide_and_the_attempt_is_kept(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    other = as_person("mzt-admin")
    page = other.get(f"/console/grants/{grant['id']}")
    assert page.status_code == 403
    refused = other.post(
        f"/console/grants/{grant['id']}/approve",
        data={"csrf_token": other.csrf, "items": ["id_number"]},
    )
    assert refused.status_code == 403
    assert _grant(db, grant["id"]).status == "pending"
    detail = views.get_grant(
        db, grant_id=grant["id"], principal=_admin(app), authz=app.state.authorizer
    )
    assert [e.action for e in detail.events][-1] == "denied_attempt"


def _admin(app: FastAPI) -> Any:
    from exchange.identity.principal import Principal

    return Principal(
        subject="user:province-admin",
        kind="user",
        department="zj-dsj",
        roles=frozenset({"province_admin"}),
        token_id="test",
    )


def test_a_consumer_requests_through_the_form(db: Session, as_person: Callable[[str], Any]) -> None:
    admin = as_person("zrzyt-admin")
    picked = admin.get("/console/grants/new", params={"resource": "301001002/000002"}).text
    assert 'name="items" value="id_number"' in picked
    missing = admin.post(
        "/console/grants/new",
        data={"csrf_token": admin.csrf, "resource": "301001002/000002", "purposes": "", "need": ""},
    )
    assert missing.status_code == 422
    assert 'id="items-error"' in missing.text and 'id="need-error"' in missing.text
    assert 'id="purposes-error"' in missing.text
    bad_purpose = admin.post(
        "/console/grants/new",
        data={
            "csrf_token": admin.csrf,
            "resource": "301001002/000002",
            "items": ["name"],
            "purposes": "no-such-purpose",
            "need": "核验",
        },
    )
    assert bad_purpose.status_code == 422 and "no-such-purpose" in bad_purpose.text
    filed = admin.post(
        "/console/grants/new",
        data={
            "csrf_token": admin.csrf,
            "resource": "301001002/000002",
            "items": ["id_number", "name"],
            "purposes": "330000-ZR-001",
            "need": "二手房转移登记核验身份",
        },
        follow_redirects=False,
    )
    assert filed.status_code == 303 and filed.headers["location"].endswith("?done=requested")
    shown = admin.get(filed.headers["location"]).text
    assert "待审批" in shown and "申请已提交。" in shown and 'id="approve-form"' not in shown
    # 无条件共享 is approved at once by rule.
    seal = admin.post(
        "/console/grants/new",
        data={
            "csrf_token": admin.csrf,
            "resource": "305001001/000001",
            "items": ["uscc", "company_name"],
            "purposes": "330000-ZR-001",
            "need": "核验企业",
        },
    )
    assert seal.status_code == 200 and "已批准" in seal.text, seal.text[-3000:]


def test_who_can_read_and_what_a_system_can_read(
    app: FastAPI, client: TestClient, as_person: Callable[[str], Any]
) -> None:
    grant = file_request(client, app)
    admin = as_person("gat-admin")
    admin.post(
        f"/console/grants/{grant['id']}/approve",
        data={"csrf_token": admin.csrf, "items": ["id_number", "name"]},
    )
    by_resource = admin.get("/console/permissions", params={"resource": "301001002/000002"})
    assert by_resource.status_code == 200
    assert "浙江省自然资源厅" in by_resource.text and "id_number, name" in by_resource.text
    by_system = (
        as_person("province-admin")
        .get("/console/permissions", params={"system": "zj-zrzyt-window"})
        .text
    )
    assert "居民身份证信息" in by_system and "继承自部门" in by_system
    missing = admin.get("/console/permissions", params={"resource": "301001001/009999"})
    assert missing.status_code == 404
