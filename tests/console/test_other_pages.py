"""Connectors, one-things, objections and supervision pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.bindings.models import ConnectorCheck
from exchange.objections.models import DataObjection
from tests.grants.support import today
from tests.objections.support import raise_as
from tests.records.support import grant_esf_transfer

ID_CARD = "301001002/000002"


def test_connectors_list_check_and_describe(
    as_person: Callable[[str], Any], db: Session, live_sources: Any
) -> None:
    admin = as_person("gat-admin")
    listed = admin.get("/console/connectors").text
    assert ID_CARD in listed and "303001001/000001" not in listed  # only its own department's
    checked = admin.post(
        f"/console/connectors/{ID_CARD}/check",
        data={"csrf_token": admin.csrf},
        follow_redirects=False,
    )
    assert checked.status_code == 303
    page = admin.get(checked.headers["location"]).text
    assert "检查通过" in page and "可用率 100.0%" in page and "<svg" in page
    db.expire_all()
    assert len(db.scalars(select(ConnectorCheck)).all()) == 1
    described = admin.get(f"/console/connectors/{ID_CARD}/describe").text
    assert "gmsfhm" in described and "id_number" in described
    assert "**********" in described or "url" not in described  # secrets stay masked
    other = as_person("mzt-admin")
    assert other.get(f"/console/connectors/{ID_CARD}").status_code == 403
    assert (
        other.post(
            f"/console/connectors/{ID_CARD}/check", data={"csrf_token": other.csrf}
        ).status_code
        == 403
    )


def test_a_one_things_materials_and_elimination_report(
    app: FastAPI, client: TestClient, as_person: Callable[[str], Any], live_sources: Any
) -> None:
    admin = as_person("zrzyt-admin")
    listed = admin.get("/console/one-things").text
    assert "二手房交易过户一件事" in listed
    before = admin.get("/console/one-things/esf-transfer").text
    assert "0 / 15" in before and "无共享权限" in before
    grant_esf_transfer(client, app)
    after = admin.get("/console/one-things/esf-transfer").text
    pulled = int(re.search(r"<strong>(\d+) / 15</strong>", after).group(1))  # type: ignore[union-attr]
    assert pulled > 0 and "平台调取" in after
    other = admin.get("/console/one-things/esf-transfer", params={"consumer": "zj-mzt"}).text
    assert "0 / 15" in other
    assert admin.get("/console/one-things/no-such-thing").status_code == 404


def test_objections_open_overdue_answered(
    app: FastAPI, client: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    raised = raise_as(client, app)
    late = raise_as(
        client, app, items=["address"], description="住址有误", proposed_correction=None
    )
    row = db.get(DataObjection, late["id"])
    assert row is not None
    row.due_on = today() - timedelta(days=20)
    db.commit()
    provider = as_person("gat-admin")
    opened = provider.get("/console/objections").text
    assert f"/console/objections/{raised['id']}" in opened
    overdue = provider.get("/console/objections?view=overdue").text
    assert f"/console/objections/{late['id']}" in overdue
    assert f'/console/objections/{raised["id"]}"' not in overdue and "已超期" in overdue
    raiser = as_person("zrzyt-admin").get("/console/objections?role=raiser").text
    assert f"/console/objections/{raised['id']}" in raiser

    page = provider.get(f"/console/objections/{raised['id']}").text
    assert 'id="answer-form"' in page
    no_reason = provider.post(
        f"/console/objections/{raised['id']}/answer",
        data={"csrf_token": provider.csrf, "answer": "rejected"},
    )
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    bad = provider.post(
        f"/console/objections/{raised['id']}/answer",
        data={"csrf_token": provider.csrf, "answer": "maybe"},
    )
    assert bad.status_code == 422 and 'id="answer-error"' in bad.text
    done = provider.post(
        f"/console/objections/{raised['id']}/answer",
        data={"csrf_token": provider.csrf, "answer": "corrected", "reason": "已按户籍档案更正"},
    )
    assert done.status_code == 200 and "已答复。" in done.text and "已更正" in done.text
    answered = provider.get("/console/objections?view=answered").text
    assert f"/console/objections/{raised['id']}" in answered
    twice = provider.post(
        f"/console/objections/{raised['id']}/answer",
        data={"csrf_token": provider.csrf, "answer": "corrected"},
    )
    assert twice.status_code == 409
    outsider = as_person("mzt-admin")
    assert outsider.get(f"/console/objections/{raised['id']}").status_code == 403


def test_supervision_scorecards_follow_the_viewers_scope(as_person: Callable[[str], Any]) -> None:
    province = as_person("province-admin").get("/console/supervision").text
    assert 'id="scorecards"' in province
    assert "浙江省公安厅" in province and "浙江省民政厅" in province
    by_thing = as_person("province-admin").get("/console/supervision?by=one_thing").text
    assert "二手房交易过户一件事" in by_thing
    own = as_person("gat-admin").get("/console/supervision").text
    assert "浙江省公安厅" in own and "浙江省民政厅" not in own
    bad = as_person("province-admin").get("/console/supervision?from=someday")
    assert bad.status_code == 422 and 'id="from-error"' in bad.text


def test_every_main_page_renders_for_the_province_admin(
    app: FastAPI, client: TestClient, as_person: Callable[[str], Any], live_sources: Any
) -> None:
    grant_esf_transfer(client, app)
    admin = as_person("province-admin")
    for url in (
        "/console/",
        "/console/catalogue",
        "/console/catalogue/301001001/000001",
        "/console/catalogue/301001001/000001/edit",
        "/console/catalogue/new",
        "/console/one-things",
        "/console/one-things/esf-transfer",
        "/console/grants",
        "/console/grants?view=inbox",
        "/console/grants/1",
        "/console/grants/new",
        "/console/permissions",
        "/console/connectors",
        f"/console/connectors/{ID_CARD}",
        "/console/audit",
        "/console/audit/entries",
        "/console/audit/subject",
        "/console/objections",
        "/console/objections?view=overdue",
        "/console/objections/new",
        f"/console/objections/new?resource_code={ID_CARD}",
        "/console/supervision",
    ):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert "<main" in response.text and "Traceback" not in response.text
