"""The objection form: a department's people raise a data objection from the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.objections.models import DataObjection
from exchange.records.masking import mask_resident_id
from tests.console.support import person
from tests.tracker.entries import ID_CARD, log_accesses
from tests.tracker.idp import ALICE, BAD_CHECK, BOB

WINDOW_PERSON = "zrzyt-window"  # 不动产登记窗口 staff: the window system's role, as a person
MASKED_ALICE = mask_resident_id(ALICE)  # 330106********002X: as a masked grant shows it
_INPUT = re.compile(r'<input id="f-[^"]*" name="([^"]+)" type="text" value="([^"]*)"([^>]*)>')


@pytest.fixture
def window(app: FastAPI, db: Session, as_person: Callable[[str], Any]) -> Any:
    """A signed-in person of the 自然资源厅 window (role ``system``, which may raise)."""
    person(db, WINDOW_PERSON, department="zj-zrzyt", roles=["system"])
    app.state.authorizer.reload()
    return as_person(WINDOW_PERSON)


def valid_form(csrf: str, **overrides: Any) -> dict[str, Any]:
    """Return a valid post: Alice's name in 居民身份证信息 is wrong."""
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "resource_code": ID_CARD,
        "key": ALICE,
        "key_item": "id_number",
        "audit_seq": "",
        "case_id": "ESF-2026-0042",
        "items": ["name"],
        "correct-name": "张晓明",
        "correct-address": "",
        "description": "姓名与不动产登记簿不一致（簿记：张晓明）",
    }
    data.update(overrides)
    return data


def text_inputs(html: str) -> dict[str, tuple[str, bool]]:
    """Return the page's text inputs: name -> (value, read-only)."""
    return {n: (unescape(v), " readonly" in rest) for n, v, rest in _INPUT.findall(html)}


def stored(db: Session) -> list[DataObjection]:
    """Return every objection in the database, as committed."""
    db.expire_all()
    return list(db.scalars(select(DataObjection)))


def test_a_window_person_raises_an_objection_the_provider_sees_it(
    window: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    listed = window.get("/console/objections?role=raiser").text
    assert 'id="raise-objection"' in listed
    first = window.get("/console/objections/new").text
    assert 'id="record-form"' in first and "资源代码" in first and "访问日志序号" in first
    form = window.get("/console/objections/new", params={"resource_code": ID_CARD, "key": ALICE})
    assert form.status_code == 200 and 'id="objection-form"' in form.text
    assert 'name="correct-address"' in form.text and "住址" in form.text

    raised = window.post("/console/objections/new", data=valid_form(window.csrf))
    assert raised.status_code == 200, raised.text
    assert "异议已提交" in raised.text and "张晓明" in raised.text
    [row] = stored(db)
    assert row.raised_by == f"user:{WINDOW_PERSON}" and row.source == "department"
    assert row.items == ["name"] and row.proposed_correction == {"name": "张晓明"}
    assert row.case_id == "ESF-2026-0042" and row.status == "open"
    mine = window.get("/console/objections?role=raiser").text
    assert f"/console/objections/{row.id}" in mine

    provider = as_person("gat-admin")
    inbox = provider.get("/console/objections").text
    assert f"/console/objections/{row.id}" in inbox
    assert re.search(r"剩余 \d+ 个工作日", inbox)
    assert 'id="raise-objection"' in inbox  # a catalog_admin may raise too

    window.get("/console/lang/en")
    english = window.get("/console/objections/new", params={"resource_code": ID_CARD}).text
    assert "Raise a data objection" in english and "Correct value of 姓名" in english


def test_an_access_log_entry_names_the_record(
    app: FastAPI, window: TestClient, db: Session
) -> None:
    logged = log_accesses(app)
    own, other = logged.alice[0], logged.alice[1]  # the window's pull; 民政厅's denied one
    form = window.get("/console/objections/new", params={"audit_seq": own}).text
    assert 'id="objection-form"' in form
    assert f'value="{MASKED_ALICE}"' in form and f'value="{ID_CARD}"' in form
    assert ALICE not in form  # the entry's key is never shown in full
    assert 'value="ESF-2026-0000"' in form  # the entry's case comes along
    # Another department's entry fills nothing in.
    theirs = window.get("/console/objections/new", params={"audit_seq": other}).text
    assert 'id="record-form"' in theirs and ALICE not in theirs
    assert 'id="audit_seq-error">不是本部门访问该记录的日志序号' in theirs
    no_resource = window.get("/console/objections/new", params={"key": ALICE}).text
    assert 'id="resource_code-error">必填' in no_resource

    raised = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, resource_code="", key="", case_id="", audit_seq=str(own)),
    )
    assert raised.status_code == 200, raised.text
    [row] = stored(db)
    assert (row.audit_seq, row.subject_key, row.case_id) == (own, ALICE, "ESF-2026-0000")

    refused = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, audit_seq=str(other), items=["address"]),
    )
    assert refused.status_code == 422 and 'id="audit_seq-error"' in refused.text
    assert len(stored(db)) == 1


def test_an_entry_s_key_is_shown_masked_and_the_post_takes_it_from_the_entry(
    app: FastAPI, window: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    logged = log_accesses(app)
    own = logged.alice[0]
    assert ALICE[:6] + "*" * 8 + ALICE[-4:] == MASKED_ALICE
    form = window.get("/console/objections/new", params={"audit_seq": own}).text
    assert ALICE not in form and ALICE[6:14] not in form
    shown = text_inputs(form)
    assert shown["key"] == (MASKED_ALICE, True)  # masked, and read-only
    assert shown["audit_seq"] == (str(own), False)
    assert "由访问日志序号确定" in form

    # Post the form as the browser would: the masked text goes back, never the key.
    posted = {name: value for name, (value, _) in shown.items()}
    refused = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, **posted, items=[], **{"correct-name": ""}),
    )
    assert refused.status_code == 422 and 'id="items-error"' in refused.text
    assert ALICE not in refused.text and text_inputs(refused.text)["key"] == (MASKED_ALICE, True)
    assert stored(db) == []

    raised = window.post("/console/objections/new", data=valid_form(window.csrf, **posted))
    assert raised.status_code == 200, raised.text
    [row] = stored(db)
    assert (row.subject_key, row.audit_seq, row.case_id) == (ALICE, own, "ESF-2026-0000")
    assert row.resource.code == ID_CARD and row.key_item == "id_number"
    # The provider sees the objection against Alice's real record.
    provider = as_person("gat-admin")
    assert ALICE in provider.get(f"/console/objections/{row.id}").text


def test_a_typed_key_with_an_entry_must_be_the_entry_s_key(
    app: FastAPI, window: TestClient, db: Session
) -> None:
    logged = log_accesses(app)
    own, other, bob = logged.alice[0], logged.alice[1], logged.bob[0]

    # A different key with the entry: kept as typed, refused beside the entry number.
    wrong = window.post(
        "/console/objections/new", data=valid_form(window.csrf, key=BOB, audit_seq=str(own))
    )
    assert wrong.status_code == 422 and 'id="audit_seq-error"' in wrong.text
    assert ALICE not in wrong.text and f'value="{BOB}"' in wrong.text
    # The masked key of one entry with the number of another own entry: refused alike.
    switched = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, key=MASKED_ALICE, audit_seq=str(bob)),
    )
    assert switched.status_code == 422 and 'id="audit_seq-error"' in switched.text
    assert ALICE not in switched.text and BOB not in switched.text
    # Another department's entry fills nothing and is refused, masked key or full.
    for key in (MASKED_ALICE, ALICE):
        theirs = window.post(
            "/console/objections/new",
            data=valid_form(window.csrf, key=key, audit_seq=str(other)),
        )
        assert theirs.status_code == 422
        assert re.search(r'id="audit_seq-error">[^<]*not your department', theirs.text)
        assert text_inputs(theirs.text)["key"] == (key, False)
    # The masked text without its entry is never a key.
    masked = window.post("/console/objections/new", data=valid_form(window.csrf, key=MASKED_ALICE))
    assert masked.status_code == 422
    assert 'id="key-error">遮蔽显示的主键值不能作为主键' in masked.text
    assert stored(db) == []

    # The full key typed with the entry is the entry's: accepted, and shown masked.
    blank = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, key=ALICE, audit_seq=str(own), description=""),
    )
    assert blank.status_code == 422 and 'id="description-error"' in blank.text
    assert ALICE not in blank.text and text_inputs(blank.text)["key"] == (MASKED_ALICE, True)
    raised = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, key=ALICE, audit_seq=str(own)),
    )
    assert raised.status_code == 200, raised.text
    [row] = stored(db)
    assert (row.subject_key, row.audit_seq) == (ALICE, own)


def test_invalid_input_is_shown_beside_the_field_and_nothing_is_stored(
    window: TestClient, db: Session
) -> None:
    blank = window.post("/console/objections/new", data=valid_form(window.csrf, description=""))
    assert blank.status_code == 422
    assert 'id="form-errors"' in blank.text and 'id="description-error">必填' in blank.text
    none = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, items=[], **{"correct-name": ""}),
    )
    assert none.status_code == 422 and 'id="items-error"' in none.text

    wrong = window.post(
        "/console/objections/new",
        data=valid_form(window.csrf, key=BAD_CHECK, **{"correct-address": "杭州市西湖区"}),
    )
    assert wrong.status_code == 422
    assert 'id="key-error"' in wrong.text and "resident ID" in wrong.text
    assert 'id="correct-address-error"' in wrong.text
    # What was typed stays in the form.
    assert f'value="{BAD_CHECK}"' in wrong.text and 'value="杭州市西湖区"' in wrong.text
    assert re.search(r'value="name" checked', wrong.text)

    unknown = window.post(
        "/console/objections/new", data=valid_form(window.csrf, resource_code="399999999/999999")
    )
    assert unknown.status_code == 422 and 'id="resource_code-error"' in unknown.text
    bad_seq = window.post("/console/objections/new", data=valid_form(window.csrf, audit_seq="x"))
    assert bad_seq.status_code == 422 and 'id="audit_seq-error">请填写数字' in bad_seq.text
    assert stored(db) == []

    assert window.post("/console/objections/new", data=valid_form(window.csrf)).status_code == 200
    again = window.post("/console/objections/new", data=valid_form(window.csrf))
    assert again.status_code == 409 and "尚未办结，请勿重复提出" in again.text
    assert len(stored(db)) == 1


def test_a_post_without_csrf_or_by_a_role_that_may_not_raise_is_refused(
    window: TestClient, db: Session, as_person: Callable[[str], Any]
) -> None:
    data = valid_form("")
    del data["csrf_token"]
    no_token = window.post("/console/objections/new", data=data)
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    forged = window.post("/console/objections/new", data=valid_form("not-the-token"))
    assert forged.status_code == 403

    auditor = as_person("auditor")
    assert 'id="raise-objection"' not in auditor.get("/console/objections").text
    page = auditor.get("/console/objections/new")
    assert page.status_code == 403 and "<main" in page.text and "403" in page.text
    posted = auditor.post("/console/objections/new", data=valid_form(auditor.csrf))
    assert posted.status_code == 403 and "<main" in posted.text
    assert stored(db) == []
