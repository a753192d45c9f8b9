"""Catalogue pages: search, create and edit with errors beside the field, lifecycle, history."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource, ResourceVersion
from exchange.console.i18n import LANGUAGE_COOKIE

NEW = "301003001/000009"


def _form(csrf: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "code": NEW,
        "name": "机动车驾驶证信息",
        "provider": "zj-gat",
        "summary": "驾驶证核发与状态",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "仅用于交通相关办事事项",
        "legal_basis": "《道路交通安全法》",
        "share_method": "api",
        "open_type": "closed",
        "update_cycle": "daily",
        "item_rows": "4",
        "item-0-code": "licence_no",
        "item-0-name": "驾驶证号",
        "item-0-data_type": "C",
        "item-0-sensitivity": "2",
        "item-0-is_key": "on",
        "item-1-code": "holder_name",
        "item-1-name": "持证人姓名",
        "item-1-data_type": "C",
        "item-1-sensitivity": "3",
    }
    form.update(overrides)
    return form


def _error(html: str, field: str) -> str:
    found = re.search(
        rf'<span class="field-error" id="{re.escape(field)}-error">([^<]*)</span>', html
    )
    assert found, f"no error shown beside {field}"
    return found.group(1)


def _count(db: Session) -> tuple[int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Resource)) or 0,
        db.scalar(select(func.count()).select_from(ResourceVersion)) or 0,
    )


def test_search_by_text_and_filters(as_person: Callable[[str], Any]) -> None:
    client = as_person("gat-admin")
    found = client.get("/console/catalogue", params={"q": "户籍"}).text
    assert "居民户籍信息" in found and "婚姻登记信息" not in found
    by_provider = client.get("/console/catalogue", params={"provider": "zj-mzt"}).text
    assert "婚姻登记信息" in by_provider and "居民户籍信息" not in by_provider
    shared = client.get("/console/catalogue", params={"share_type": "none"}).text
    assert "个人所得税纳税记录" in shared and "居民户籍信息" not in shared
    bad = client.get("/console/catalogue", params={"share_type": "sometimes"})
    assert bad.status_code == 200 and _error(bad.text, "share_type") == "请从列表中选择"
    unknown = client.get("/console/catalogue", params={"provider": "zj-nope"}).text
    assert "zj-nope" in _error(unknown, "provider")


def test_a_bad_form_shows_each_error_beside_its_field_and_saves_nothing(
    as_person: Callable[[str], Any], db: Session
) -> None:
    client = as_person("gat-admin")
    before = _count(db)
    response = client.post(
        "/console/catalogue/new",
        data=_form(
            client.csrf,
            code="30100/1",
            name="",
            legal_basis="",
            format="paper",
            **{"item-1-data_type": "Q", "item-0-code": "Licence No"},
        ),
    )
    assert response.status_code == 422
    html = response.text
    assert "未保存任何内容" in html
    assert "{分类码}/{顺序码}" in _error(html, "code")
    assert _error(html, "name") == "必填"
    assert _error(html, "format") == "请从列表中选择"
    assert "legal basis" in _error(html, "legal_basis")
    assert _error(html, "item-0-code") == "格式不正确"
    assert _error(html, "item-1-data_type") == "请从列表中选择"
    # What was typed is kept, so only the errors need fixing.
    assert 'value="30100/1"' in html and 'value="持证人姓名"' in html
    assert _count(db) == before


def test_blank_item_rows_are_ignored_and_errors_name_the_right_row(
    as_person: Callable[[str], Any],
) -> None:
    client = as_person("gat-admin")
    form = _form(
        client.csrf,
        **{"item_rows": "5", "item-3-code": "a", "item-3-name": "x", "item-3-data_type": "Z"},
    )
    html = client.post("/console/catalogue/new", data=form).text
    assert _error(html, "item-3-data_type") == "请从列表中选择"
    no_items = _form(
        client.csrf,
        item_rows="2",
        **{"item-0-code": "", "item-0-name": "", "item-1-code": "", "item-1-name": ""},
    )
    html = client.post("/console/catalogue/new", data=no_items).text
    assert _error(html, "items") == "至少填写一项"


def test_a_duplicate_code_is_shown_beside_the_code(as_person: Callable[[str], Any]) -> None:
    client = as_person("gat-admin")
    response = client.post(
        "/console/catalogue/new", data=_form(client.csrf, code="301001001/000001")
    )
    assert response.status_code == 422
    # The service's refusal in the viewer's language (zh-CN by default; English chosen).
    assert _error(response.text, "code") == "资源 301001001/000001 已存在"
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.post(
        "/console/catalogue/new", data=_form(client.csrf, code="301001001/000001")
    )
    assert _error(english.text, "code") == "resource 301001001/000001 already exists"


def test_create_publish_edit_and_read_the_history_with_diffs(
    as_person: Callable[[str], Any], db: Session
) -> None:
    client = as_person("gat-admin")
    created = client.post("/console/catalogue/new", data=_form(client.csrf), follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"].endswith(
        f"/console/catalogue/{NEW}?done=created"
    )
    page = client.get(f"/console/catalogue/{NEW}").text
    assert "草稿" in page and "v1.0" in page and "发布" in page
    published = client.post(
        f"/console/catalogue/{NEW}/status", data={"csrf_token": client.csrf, "status": "published"}
    )
    assert published.status_code == 200 and "已发布" in published.text
    # Add an item and change the summary: a minor version with both changes in its diff.
    edit = _form(
        client.csrf,
        summary="驾驶证核发、换证与状态",
        item_rows="4",
        **{"item-2-code": "valid_until", "item-2-name": "有效期至", "item-2-data_type": "D"},
    )
    edit.pop("code")
    saved = client.post(f"/console/catalogue/{NEW}/edit", data=edit)
    assert saved.status_code == 200 and "v1.1" in saved.text
    assert "<ins>、换证</ins>" in saved.text
    assert "items.valid_until" in saved.text and "新增信息项" in saved.text
    # Removing an item is a major change.
    edit = {k: v for k, v in edit.items() if not k.startswith("item-1-")}
    saved = client.post(f"/console/catalogue/{NEW}/edit", data=edit)
    assert "v2.0" in saved.text and "删除信息项" in saved.text
    db.expire_all()
    resource = db.scalars(select(Resource).where(Resource.code == NEW)).one()
    assert resource.version == "2.0" and [i.code for i in resource.items] == [
        "licence_no",
        "valid_until",
    ]
    # A move the lifecycle forbids is a 409 page, and the entry is unchanged.
    back = client.post(
        f"/console/catalogue/{NEW}/status", data={"csrf_token": client.csrf, "status": "draft"}
    )
    assert back.status_code == 409 and "cannot move from published to draft" in back.text


def test_an_edit_with_an_error_changes_nothing(
    as_person: Callable[[str], Any], db: Session
) -> None:
    client = as_person("gat-admin")
    before = _count(db)
    page = client.get("/console/catalogue/301001001/000001/edit").text
    assert 'value="居民户籍信息"' in page and "readonly" in page
    response = client.post(
        "/console/catalogue/301001001/000001/edit",
        data={
            "csrf_token": client.csrf,
            "name": "",
            "provider": "zj-gat",
            "format": "database",
            "share_type": "conditional",
            "share_method": "api",
            "open_type": "closed",
            "update_cycle": "daily",
            "item_rows": "1",
            "item-0-code": "id_number",
            "item-0-name": "公民身份号码",
            "item-0-data_type": "C",
        },
    )
    assert response.status_code == 422 and _error(response.text, "name") == "必填"
    assert _count(db) == before


def test_a_province_admin_may_create_for_any_department(
    as_person: Callable[[str], Any], client: TestClient
) -> None:
    admin = as_person("province-admin")
    form = admin.get("/console/catalogue/new").text
    assert 'value="zj-mzt"' in form and 'value="zj-gat"' in form
    own = as_person("gat-admin").get("/console/catalogue/new").text
    assert 'value="zj-mzt"' not in own
