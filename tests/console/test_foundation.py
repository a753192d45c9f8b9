"""The console's foundation: escaping, the message catalogue, languages, roles and 403s."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalogs.resources.schemas import ResourceCreate
from catalogs.resources.service import create_resource
from exchange.console.i18n import LANGUAGES, catalogue
from tests.console.support import person, sign_in
from tests.fixtures.factories import create_department

CONSOLE = Path(__file__).parents[2] / "exchange" / "console"
_KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.-]*)["']\s*[,)]""")
XSS = "<script>alert(1)</script>"


def _entry(db: Session, name: str, code: str = "301001001/000777") -> None:
    create_department(db, "zj-gat", name="浙江省公安厅")
    data = ResourceCreate(
        code=code,
        name=name,
        provider="zj-gat",
        summary=f"摘要 {name}",
        format="database",
        items=[{"code": "id_number", "name": name, "data_type": "C", "is_key": True}],
        share_type="unconditional",
        share_method="api",
        open_type="closed",
        update_cycle="daily",
    )
    create_resource(db, data=data, status="published")
    db.commit()


def test_an_entry_named_like_a_script_renders_as_text(client: TestClient, db: Session) -> None:
    _entry(db, XSS)
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    sign_in(client, "li.hua")
    for url in (
        "/console/catalogue",
        "/console/catalogue?q=script",
        "/console/catalogue/301001001/000777",
        "/console/catalogue/301001001/000777/edit",
    ):
        html = client.get(url).text
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_a_script_in_a_query_or_a_bad_value_is_echoed_as_text(
    client: TestClient, db: Session
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    sign_in(client, "li.hua")
    html = client.get("/console/catalogue", params={"q": XSS}).text
    assert XSS not in html and "&lt;script&gt;" in html
    html = client.get("/console/permissions", params={"resource": XSS}).text
    assert XSS not in html


def test_every_page_carries_a_strict_content_security_policy(
    client: TestClient, db: Session
) -> None:
    page = client.get("/console/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script: htmx is a file of the console
    assert client.get("/console/static/htmx.min.js").status_code == 200


def test_both_catalogues_hold_the_same_keys_and_every_key_used_exists() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    assert all(v.strip() for v in [*zh.values(), *en.values()])
    used: set[str] = set()
    for path in [*CONSOLE.glob("templates/**/*.html"), *CONSOLE.glob("**/*.py")]:
        used |= set(_KEY_CALL.findall(path.read_text(encoding="utf-8")))
    assert used, "no t('...') call found"
    assert not used - set(zh), sorted(used - set(zh))
    # Placeholders agree between the languages.
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_the_message_files_are_plain_json() -> None:
    for language in LANGUAGES:
        path = CONSOLE / "messages" / f"{language.replace('-', '_')}.json"
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)


def test_chinese_by_default_and_english_when_chosen(client: TestClient, db: Session) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    sign_in(client, "li.hua")
    home = client.get("/console/")
    assert '<html lang="zh-CN">' in home.text and "资源目录" in home.text
    switched = client.get("/console/lang/en?next=/console/catalogue", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/console/catalogue"
    page = client.get("/console/catalogue")
    assert '<html lang="en">' in page.text and "Shared-data catalogue" in page.text
    assert "资源目录" not in page.text.split("<main", 1)[1]
    client.get("/console/lang/zh-CN")
    assert "政务信息资源目录" in client.get("/console/catalogue").text
    # An unknown language changes nothing; an outside address is not followed.
    odd = client.get("/console/lang/fr?next=https://evil.example/", follow_redirects=False)
    assert odd.headers["location"] == "/console/"


@pytest.mark.parametrize(
    ("roles", "shown", "hidden"),
    [
        (["catalog_admin"], ["资源目录", "共享权限", "数据接入", "数据异议"], ["访问审计"]),
        (["auditor"], ["资源目录", "访问审计", "共享权限", "数据异议"], ["数据接入"]),
        (["province_admin"], ["资源目录", "共享权限", "数据接入", "访问审计", "数据异议"], []),
    ],
)
def test_the_navigation_follows_the_role(
    client: TestClient, db: Session, roles: list[str], shown: list[str], hidden: list[str]
) -> None:
    person(db, "someone", department="zj-gat", roles=roles)
    sign_in(client, "someone")
    nav = client.get("/console/").text.split("<nav", 1)[1].split("</nav>", 1)[0]
    for name in shown:
        assert name in nav
    for name in hidden:
        assert name not in nav


@pytest.mark.parametrize(
    ("roles", "url"),
    [
        (["catalog_admin"], "/console/audit"),
        (["catalog_admin"], "/console/audit/entries?subject=330106197803154217"),
        (["catalog_admin"], "/console/audit/entries.csv"),
        (["auditor"], "/console/connectors"),
        (["auditor"], "/console/catalogue/new"),
        (["auditor"], "/console/grants/new"),
    ],
)
def test_a_page_outside_the_role_is_a_403_page_not_a_trace(
    client: TestClient, db: Session, roles: list[str], url: str
) -> None:
    person(db, "someone", department="zj-gat", roles=roles)
    sign_in(client, "someone")
    response = client.get(url)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "无权访问" in response.text and "Traceback" not in response.text
    assert "may not" not in response.text  # the rule text stays in the server's log


def test_unknown_console_addresses_and_bad_parameters_are_pages(
    client: TestClient, db: Session
) -> None:
    person(db, "li.hua", department="zj-gat", roles=["catalog_admin"])
    sign_in(client, "li.hua")
    missing = client.get("/console/no/such/page")
    assert missing.status_code == 404 and "未找到" in missing.text
    entry = client.get("/console/catalogue/301001001/000001")
    assert entry.status_code == 404 and "text/html" in entry.headers["content-type"]
    bad = client.get("/console/catalogue?page=abc")
    assert bad.status_code == 422 and "page" in bad.text
    grant = client.get("/console/grants/not-a-number")
    assert grant.status_code == 422


def test_a_department_admin_cannot_edit_another_departments_entry(
    client: TestClient, db: Session
) -> None:
    _entry(db, "居民户籍信息")
    person(db, "mz.admin", department="zj-mzt", roles=["catalog_admin"])
    csrf = sign_in(client, "mz.admin")
    page = client.get("/console/catalogue/301001001/000777")
    assert page.status_code == 200 and "/edit" not in page.text  # no edit button
    assert client.get("/console/catalogue/301001001/000777/edit").status_code == 403
    post = client.post(
        "/console/catalogue/301001001/000777/status",
        data={"csrf_token": csrf, "status": "deprecated"},
    )
    assert post.status_code == 403
