"""The console in a real browser: Debian's chromium, driven by Playwright, on a live hub.

Each scenario is what a person does with the mouse and keyboard; the screenshots the tests
take are the README's (set DATARUN_SCREENSHOTS=docs/screenshots to refresh them).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from exchange.demo.sources import cast
from tests.console.support import PASSWORD
from tests.records.support import (
    ID_CARD,
    ID_ITEMS,
    TRANSFER,
    WINDOW,
    grant_esf_transfer,
    headers,
    lookup,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect

pytestmark = pytest.mark.usefixtures("demo_people")


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/console/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("form[action='/console/login'] button[type=submit]")
    expect(page.locator("header .user")).to_be_visible()


def test_a_catalogue_admin_creates_and_publishes_an_entry(browser_page: Any, screens: Any) -> None:
    page = browser_page
    sign_in(page, "gat-admin")
    screens.take(page, "home")
    page.click("nav >> text=资源目录")
    expect(page.locator("#results")).to_contain_text("居民户籍信息")
    page.fill("#f-q", "户籍")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    screens.take(page, "catalogue")

    page.click("text=新建资源")
    page.fill("#f-code", "301003001/000009")
    page.select_option("#f-share_type", "conditional")
    page.fill("input[name='item-0-code']", "licence_no")
    page.fill("input[name='item-0-name']", "驾驶证号")
    page.select_option("select[name='item-0-data_type']", "C")
    page.click("form.resource-form button[type=submit]")
    # Nothing saved; each error sits beside its field.
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#name-error")).to_have_text("必填")
    expect(page.locator("#legal_basis-error")).to_contain_text("legal basis")
    expect(page.locator("#share_condition-error")).to_be_visible()
    expect(page.locator("#f-code")).to_have_value("301003001/000009")
    screens.take(page, "catalogue-form-errors", full_page=True)

    page.fill("#f-name", "机动车驾驶证信息")
    page.fill("#f-summary", "驾驶证核发与状态。")
    page.fill("#f-share_condition", "仅用于交通相关办事事项")
    page.fill("#f-legal_basis", "《中华人民共和国道路交通安全法》")
    page.check("input[name='item-0-is_key']")
    page.fill("input[name='item-1-code']", "holder_name")
    page.fill("input[name='item-1-name']", "持证人姓名")
    page.select_option("select[name='item-1-data_type']", "C")
    page.click("form.resource-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("已创建为草稿。")
    expect(page.locator(".page-head .badge")).to_have_text("草稿")

    page.click("form.lifecycle button[value=published]")
    expect(page.locator(".page-head .badge")).to_have_text("已发布")
    expect(page.locator("ol.history li").first).to_contain_text("状态变更")
    screens.take(page, "catalogue-entry", full_page=True)

    page.goto("/console/catalogue?q=驾驶证")
    expect(page.locator("#results")).to_contain_text("机动车驾驶证信息")


def test_a_provider_admin_approves_a_grant_and_the_consumers_pull_then_succeeds(
    app: FastAPI, browser_page: Any, live_url: str, live_sources: Any, screens: Any
) -> None:
    page = browser_page
    with httpx.Client(base_url=live_url, timeout=30) as api:
        filed = api.post(
            "/v1/one-things/esf-transfer/demand/file?consumer=zj-zrzyt",
            headers=headers(app, "zrzyt-admin"),
        )
        assert filed.status_code == 200, filed.text
        grant = next(r["grant"] for r in filed.json()["requests"] if r["resource"] == ID_CARD)
        assert grant["status"] == "pending"
        refused = lookup(api, app, ID_CARD, keys=[cast.SELLER_ID])
        assert refused.status_code == 403

        sign_in(page, "gat-admin")
        page.click("nav >> text=共享权限")
        row = page.locator(f"#grants tr:has(a[href='/console/grants/{grant['id']}'])")
        expect(row).to_contain_text("剩余")
        expect(row).to_contain_text("个工作日")
        screens.take(page, "grants-inbox")
        row.locator("a").first.click()
        expect(page.locator("#approve-form")).to_be_visible()
        screens.take(page, "grant-detail", full_page=True)
        page.click("#approve-form button[type=submit]")
        expect(page.locator("#done")).to_have_text("已批准。")
        expect(page.locator(".page-head .badge")).to_have_text("已批准")

        pulled = lookup(
            api, app, ID_CARD, keys=[cast.SELLER_ID], items=ID_ITEMS, purpose=TRANSFER, who=WINDOW
        )
        assert pulled.status_code == 200, pulled.text
        assert pulled.json()["records"][0]["values"]["name"] == "陈建国"
        assert pulled.json()["grants"]["name"] == grant["id"]


def test_an_auditor_finds_every_access_to_one_citizen_and_exports_it(
    app: FastAPI, browser_page: Any, live_url: str, live_sources: Any, screens: Any
) -> None:
    page = browser_page
    seller, buyer = cast.SELLER_ID, cast.BUYER_ID
    with httpx.Client(base_url=live_url, timeout=30) as api:
        filed = api.post(
            "/v1/one-things/esf-transfer/demand/file?consumer=zj-zrzyt",
            headers=headers(app, "zrzyt-admin"),
        )
        for planned in filed.json()["requests"]:
            if planned["grant"]["status"] == "pending":
                admin = {"zj-gat": "gat-admin", "zj-mzt": "mzt-admin"}.get(planned["provider"])
                if admin:
                    api.post(
                        f"/v1/grants/{planned['grant']['id']}/approve",
                        json={},
                        headers=headers(app, admin),
                    )
        for case in ("ESF-2026-0001", "ESF-2026-0002"):
            assert lookup(api, app, ID_CARD, keys=[seller], case_id=case).status_code == 200
        assert lookup(api, app, ID_CARD, keys=[buyer], case_id="ESF-2026-0002").status_code == 200
        # A department with no grant tries too: the denial is on the record as well.
        denied = lookup(api, app, ID_CARD, keys=[seller], who="zj-mzt-backoffice")
        assert denied.status_code == 403

    sign_in(page, "auditor")
    page.click("nav >> text=访问审计")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    screens.take(page, "audit-overview", full_page=True)
    page.fill("#subject-form #f-key", seller)
    page.click("#subject-form button[type=submit]")
    expect(page.locator("#subject-total")).to_have_text("共 3 次访问")
    expect(page.locator("#entries tbody tr")).to_have_count(3)
    expect(page.locator("#entries")).to_contain_text("拒绝")
    expect(page.locator("#entries")).not_to_contain_text(buyer)
    screens.take(page, "audit-subject", full_page=True)

    with page.expect_download() as download_info:
        page.click("#csv")
    download = download_info.value
    assert download.suggested_filename.startswith(f"access-log-{seller}-")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and {r["subject_key"] for r in rows} == {seller}
    assert sorted(r["decision"] for r in rows) == ["allowed", "allowed", "denied"]
    assert {r["case_id"] for r in rows} >= {"ESF-2026-0001", "ESF-2026-0002"}

    page.click("#entries tbody tr >> nth=0 >> a >> nth=0")
    expect(page.locator("dl.meta")).to_contain_text("chain_hash")
    page.goto("/console/audit")
    page.click("#verify-form button[type=submit]")
    expect(page.locator("#verify-result")).to_contain_text("校验通过")
    screens.take(page, "audit-verify")


def test_a_wrong_password_and_a_csrf_less_post_are_refused(
    browser_page: Any, db: Session, screens: Any
) -> None:
    page = browser_page
    page.goto("/console/catalogue")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.fill("#f-username", "gat-admin")
    page.fill("#f-password", "not my password")
    page.click("form[action='/console/login'] button[type=submit]")
    expect(page.locator("#signin-error")).to_have_text("用户名或密码错误。")
    expect(page.locator("header .user")).to_have_count(0)
    screens.take(page, "signin-refused")
    # The right password then goes on to the page first asked for.
    page.fill("#f-password", PASSWORD)
    page.click("form[action='/console/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/catalogue$"))

    # A form whose CSRF token was taken out is refused and changes nothing.
    page.goto("/console/catalogue/new")
    page.fill("#f-code", "301003001/000010")
    page.fill("#f-name", "不应保存的资源")
    page.eval_on_selector("form.resource-form input[name=csrf_token]", "e => e.remove()")
    page.click("form.resource-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("403")
    expect(page.locator(".error-page")).to_contain_text("CSRF")
    page.goto("/console/catalogue?q=不应保存")
    expect(page.locator("#results")).to_contain_text("没有符合条件的资源")


def test_each_role_sees_its_pages_in_either_language(
    app: FastAPI, browser_page: Any, live_url: str, live_sources: Any, screens: Any
) -> None:
    page = browser_page
    with httpx.Client(base_url=live_url, timeout=30) as api:
        grant_esf_transfer(api, app)  # type: ignore[arg-type]
    sign_in(page, "province-admin")
    nav = page.locator("header nav")
    for name in ("资源目录", "一件事", "共享权限", "数据接入", "访问审计", "数据异议"):
        expect(nav).to_contain_text(name)
    page.goto("/console/one-things/esf-transfer")
    expect(page.locator("#elimination")).to_contain_text("平台调取")
    screens.take(page, "one-thing")
    page.goto("/console/connectors/301001002/000002")
    page.click("#check-now")
    expect(page.locator("#checks tbody tr")).to_have_count(1)
    expect(page.locator("#checks")).to_contain_text("正常")
    page.click("#describe")
    expect(page.locator("#columns")).to_contain_text("gmsfhm")
    screens.take(page, "connector", full_page=True)
    page.goto("/console/permissions?resource=301001002/000002")
    expect(page.locator("h1")).to_have_text("权限清单")
    if page.locator("header nav >> text=监督考核").count():
        page.goto("/console/supervision")
        expect(page.locator("#scorecards")).to_be_visible()
        screens.take(page, "supervision", full_page=True)

    page.click("header a[lang=en]")
    expect(page.locator("header nav")).to_contain_text("Grants")
    page.goto("/console/catalogue")
    expect(page.locator("header nav")).to_contain_text("Catalogue")
    expect(page.locator("h1")).to_have_text("Shared-data catalogue")
    screens.take(page, "catalogue-en")

    # The auditor's console has no catalogue editing and no connectors.
    page.click("header form[action='/console/logout'] button")
    sign_in(page, "auditor")
    expect(page.locator("header nav")).not_to_contain_text("Connectors")
    page.goto("/console/connectors")
    expect(page.locator("h1")).to_contain_text("403")
    page.goto("/console/catalogue/new")
    expect(page.locator("h1")).to_contain_text("403")
