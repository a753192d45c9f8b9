"""Data objections in a real browser: a window's staff raises one, the provider answers it.

Uses the fixtures of ``test_browser.py`` (Debian's chromium through Playwright, a live hub
on loopback, CSP violations fail the test).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from exchange.objections.models import DataObjection
from exchange.records.masking import mask_resident_id
from tests.console.support import person
from tests.tracker.entries import ID_CARD, log_accesses
from tests.tracker.idp import ALICE

pytest.importorskip("playwright")
from playwright.sync_api import expect

from tests.console.test_browser import sign_in

pytestmark = pytest.mark.usefixtures("demo_people")
WINDOW_PERSON = "zrzyt-window"


def sign_out(page: Any) -> None:
    """Sign out through the header's button."""
    page.click("header form[action='/console/logout'] button")
    expect(page.locator("header .user")).to_have_count(0)


def test_a_window_staff_member_raises_an_objection_the_provider_answers_it(
    app: FastAPI, db: Session, browser_page: Any, screens: Any
) -> None:
    page = browser_page
    person(db, WINDOW_PERSON, department="zj-zrzyt", roles=["system"])
    app.state.authorizer.reload()
    pulled = log_accesses(app).alice[0]  # the window's own pull of Alice's ID card

    # The window's staff member names the record by the access-log entry that showed it.
    sign_in(page, WINDOW_PERSON)
    page.click("nav >> text=数据异议")
    page.click("#raise-objection")
    expect(page.locator("h1")).to_have_text("提出数据异议")
    page.get_by_label("访问日志序号").fill(str(pulled))
    page.click("#record-form button[type=submit]")
    form = page.locator("#objection-form")
    expect(form.get_by_label("资源代码")).to_have_value(ID_CARD)
    # The entry's key (Alice's ID number) is shown masked and read-only, never in full.
    expect(form.get_by_label("记录主键值")).to_have_value(mask_resident_id(ALICE))
    expect(form.get_by_label("记录主键值")).not_to_be_editable()
    assert ALICE not in page.content()
    expect(form.get_by_label("办件编号")).to_have_value("ESF-2026-0000")

    # Nothing ticked: the error sits beside the items and nothing is saved.
    form.get_by_label("哪里有误、理由").fill("姓名与不动产登记簿不一致（簿记：张晓明）")
    page.click("#objection-form button[type=submit]")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#items-error")).to_be_visible()
    expect(page.get_by_label("哪里有误、理由")).to_have_value(
        "姓名与不动产登记簿不一致（簿记：张晓明）"
    )

    page.get_by_label("姓名", exact=True).check()
    page.get_by_label("姓名的正确值").fill("张晓明")
    screens.take(page, "objection-form", full_page=True)
    page.click("#objection-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("异议已提交，等待提供部门答复。")
    expect(page.locator(".page-head .badge")).to_have_text("待处理")
    objection_id = int(re.search(r"/objections/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    raised = db.get(DataObjection, objection_id)
    assert raised is not None and raised.subject_key == ALICE  # the entry's key, in full
    link = f"a[href='/console/objections/{objection_id}']"

    page.click("nav >> text=数据异议")
    page.click("nav.tabs >> text=我方提出")
    mine = page.locator(f"#objections tr:has({link})")
    expect(mine).to_contain_text("居民身份证信息")
    expect(mine).to_contain_text("待处理")
    sign_out(page)

    # The provider's administrator finds it in the inbox with its deadline, and answers.
    sign_in(page, "gat-admin")
    page.click("nav >> text=数据异议")
    row = page.locator(f"#objections tr:has({link})")
    expect(row).to_contain_text("居民身份证信息")
    expect(row.locator(".days-left")).to_have_text(re.compile(r"^剩余 \d+ 个工作日$"))
    screens.take(page, "objections-inbox")
    row.locator("a").first.click()
    expect(page.locator("#days-left")).to_contain_text("个工作日")
    page.select_option("#answer-form #f-answer", label="已更正")
    page.fill("#answer-form #f-reason", "已按户籍档案更正姓名")
    page.click("#answer-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("已答复。")
    sign_out(page)

    # The raiser sees the answer.
    sign_in(page, WINDOW_PERSON)
    page.goto("/console/objections?view=answered&role=raiser")
    row = page.locator(f"#objections tr:has({link})")
    expect(row).to_contain_text("已更正")
    row.locator("a").first.click()
    expect(page.locator("dl.meta")).to_contain_text("已按户籍档案更正姓名")
    expect(page.locator("#answer-form")).to_have_count(0)
