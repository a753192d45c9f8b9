"""Grant lists (as consumer / provider, pending, overdue, expiring) and the permission views."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from exchange.demo.seed import SeedResult
from exchange.grants.workdays import add_working_days, working_days_between
from tests.grants.support import (
    ID_CARD,
    MARRIAGE,
    SEAL,
    approved,
    file_request,
    headers,
    set_dates,
    today,
)


def _ids(client: TestClient, app: FastAPI, who: str, query: str = "") -> list[int]:
    response = client.get(f"/v1/grants{query}", headers=headers(app, who))
    assert response.status_code == 200, response.text
    return [g["id"] for g in response.json()["items"]]


def test_lists_are_scoped_to_the_callers_department(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    to_gat = file_request(client, app)["id"]
    to_mzt = file_request(
        client, app, resource=MARRIAGE, items=["marital_status"], purposes=["esf-transfer"]
    )["id"]
    assert _ids(client, app, "zrzyt-admin") == [to_mzt, to_gat]  # newest first
    assert _ids(client, app, "zrzyt-admin", "?role=consumer") == [to_mzt, to_gat]
    assert _ids(client, app, "zrzyt-admin", "?role=provider") == []
    assert _ids(client, app, "gat-admin", "?role=provider") == [to_gat]
    assert _ids(client, app, "gat-admin", "?role=consumer") == []
    assert _ids(client, app, "mzt-admin") == [to_mzt]
    assert _ids(client, app, "tax-admin") == []
    assert _ids(client, app, "zj-zrzyt-window") == [to_mzt, to_gat]
    # Province admin and auditor see every department's, or one department's on request.
    assert _ids(client, app, "province-admin") == [to_mzt, to_gat]
    assert _ids(client, app, "auditor", "?department=zj-mzt&role=provider") == [to_mzt]
    # Another department's list, or another department's grant, is forbidden.
    other = client.get("/v1/grants?department=zj-zrzyt", headers=headers(app, "tax-admin"))
    assert other.status_code == 403
    shown = client.get(f"/v1/grants/{to_gat}", headers=headers(app, "tax-admin"))
    assert shown.status_code == 403
    assert client.get(f"/v1/grants/{to_gat}", headers=headers(app, "auditor")).status_code == 200


def test_list_by_status_pages_and_bad_filters(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    pending = file_request(client, app)["id"]
    auto = file_request(client, app, resource=SEAL, items=["uscc"])["id"]
    assert _ids(client, app, "zrzyt-admin", "?status=pending") == [pending]
    assert _ids(client, app, "zrzyt-admin", "?status=approved") == [auto]
    page = client.get("/v1/grants?size=1&page=2", headers=headers(app, "zrzyt-admin")).json()
    assert (
        page["total"] == 2 and page["size"] == 1 and [g["id"] for g in page["items"]] == [pending]
    )
    for query in ("?status=granted", "?role=owner", "?expiring_within_days=-1", "?size=0"):
        response = client.get(f"/v1/grants{query}", headers=headers(app, "zrzyt-admin"))
        assert response.status_code == 422, query
    unknown = client.get("/v1/grants?department=zj-none", headers=headers(app, "province-admin"))
    assert unknown.status_code == 422


def test_overdue_requests_show_working_days_overdue_without_a_sweep(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    late = file_request(client, app)["id"]
    on_time = file_request(client, app, resource=MARRIAGE, items=["marital_status"])["id"]
    due = today() - timedelta(days=9)
    set_dates(db, late, due_on=due)
    listed = client.get("/v1/grants?overdue=true", headers=headers(app, "province-admin"))
    assert listed.status_code == 200
    [grant] = listed.json()["items"]
    assert grant["id"] == late and grant["overdue"] is True
    assert grant["working_days_overdue"] == working_days_between(due, today()) > 0
    assert grant["escalated_at"] is None  # the sweep records the escalation, the list needs none
    assert _ids(client, app, "gat-admin", "?overdue=true&role=provider") == [late]
    assert _ids(client, app, "mzt-admin", "?overdue=true") == []
    shown = client.get(f"/v1/grants/{on_time}", headers=headers(app, "mzt-admin")).json()
    assert shown["overdue"] is False and shown["working_days_overdue"] is None
    assert shown["due_on"] == add_working_days(today(), 10).isoformat()


def test_expiring_and_expired_follow_the_dates(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    soon = approved(client, app)["id"]
    later = file_request(client, app, resource=SEAL, items=["uscc"])["id"]
    set_dates(db, soon, ends_on=today() + timedelta(days=10))
    assert _ids(client, app, "zrzyt-admin", "?expiring_within_days=30") == [soon]
    assert _ids(client, app, "zrzyt-admin", "?expiring_within_days=5") == []
    assert later in _ids(client, app, "zrzyt-admin", "?expiring_within_days=400")
    # An end date passed is expired at once, before any sweep records it.
    set_dates(db, soon, ends_on=today() - timedelta(days=1), starts_on=today() - timedelta(days=30))
    assert _ids(client, app, "zrzyt-admin", "?status=expired") == [soon]
    shown = client.get(f"/v1/grants/{soon}", headers=headers(app, "zrzyt-admin")).json()
    assert shown["status"] == "expired" and shown["in_force"] is False
    # Not re-certified for over a year: lapsed at once too.
    set_dates(db, later, certified_on=today() - timedelta(days=367))
    assert _ids(client, app, "zrzyt-admin", "?status=lapsed") == [later]
    assert _ids(client, app, "zrzyt-admin", "?status=approved") == []


def test_who_can_read_a_resource(
    client: TestClient, app: FastAPI, db: Session, demo_province: SeedResult
) -> None:
    dept = approved(client, app)
    system = approved(
        client, app, consumer_system="zj-zrzyt-window", purposes=["esf-transfer"], masked=True
    )
    file_request(client, app, purposes=["330000-ZR-002"])  # pending: not a permission
    revoked = approved(client, app, items=["name"], purposes=["330000-SW-001"])
    client.post(
        f"/v1/grants/{revoked['id']}/revoke",
        json={"reason": "x"},
        headers=headers(app, "gat-admin"),
    )
    response = client.get(f"/v1/permissions/resources/{ID_CARD}", headers=headers(app, "gat-admin"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["resource"] == ID_CARD and view["provider"] == "zj-gat" and view["total"] == 2
    assert [
        (g["grant_id"], g["consumer"], g["consumer_system"], g["purposes"], g["masked"])
        for g in view["grants"]
    ] == [
        (dept["id"], "zj-zrzyt", None, ["330000-ZR-001"], False),
        (system["id"], "zj-zrzyt", "zj-zrzyt-window", ["esf-transfer"], True),
    ]
    assert view["grants"][0]["items"] == ["id_number", "name", "address"]
    assert view["grants"][0]["ends_on"] == dept["ends_on"]
    assert view["grants"][0]["in_force"] is True
    for who in ("province-admin", "auditor"):
        url = f"/v1/permissions/resources/{ID_CARD}"
        assert client.get(url, headers=headers(app, who)).status_code == 200
    forbidden = client.get(
        f"/v1/permissions/resources/{ID_CARD}", headers=headers(app, "zrzyt-admin")
    )
    assert forbidden.status_code == 403
    missing = client.get("/v1/permissions/resources/399001/000001", headers=headers(app, "auditor"))
    assert missing.status_code == 404


def test_what_can_a_system_read(
    client: TestClient, app: FastAPI, demo_province: SeedResult
) -> None:
    dept = approved(client, app)
    own = approved(client, app, consumer_system="zj-zrzyt-window", purposes=["esf-transfer"])
    other = approved(client, app, consumer_system="zj-zrzyt-backoffice", purposes=["esf-transfer"])
    url = "/v1/permissions/systems/zj-zrzyt-window"
    response = client.get(url, headers=headers(app, "zj-zrzyt-window"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["department"] == "zj-zrzyt" and view["total"] == 2
    assert [(g["grant_id"], g["inherited"]) for g in view["grants"]] == [
        (dept["id"], True),
        (own["id"], False),
    ]
    assert other["id"] not in [g["grant_id"] for g in view["grants"]]
    assert view["grants"][0]["resource"] == ID_CARD and view["grants"][0]["provider"] == "zj-gat"
    assert client.get(url, headers=headers(app, "zrzyt-admin")).status_code == 200
    assert client.get(url, headers=headers(app, "auditor")).status_code == 200
    assert client.get(url, headers=headers(app, "zj-zrzyt-backoffice")).status_code == 403
    assert client.get(url, headers=headers(app, "gat-admin")).status_code == 403
    missing = "/v1/permissions/systems/nobody"
    assert client.get(missing, headers=headers(app, "auditor")).status_code == 404
