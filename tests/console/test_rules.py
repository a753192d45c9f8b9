"""Pure rules of the console: lockout, CSRF, redirects, passwords, charts, diffs, forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from exchange.console import charts, diff, forms, passwords, rules
from exchange.console.i18n import Translator

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_the_nth_failure_locks_and_starts_the_count_again() -> None:
    failed, locked = 0, None
    for _ in range(4):
        failed, locked = rules.after_failure(failed, NOW, attempts=5, minutes=15)
        assert locked is None
    failed, locked = rules.after_failure(failed, NOW, attempts=5, minutes=15)
    assert (failed, locked) == (0, NOW + timedelta(minutes=15))
    assert rules.is_locked(locked, NOW + timedelta(minutes=14))
    assert not rules.is_locked(locked, NOW + timedelta(minutes=15))
    assert not rules.is_locked(None, NOW)


def test_csrf_tokens_are_bound_to_the_browser_and_the_secret() -> None:
    token = rules.csrf_token("secret", "session-a")
    assert rules.csrf_matches("secret", "session-a", token)
    assert not rules.csrf_matches("secret", "session-b", token)
    assert not rules.csrf_matches("other", "session-a", token)
    assert not rules.csrf_matches("secret", None, token)
    assert not rules.csrf_matches("secret", "session-a", None)
    assert not rules.csrf_matches("secret", "session-a", "")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/catalogue?q=户籍", "/console/catalogue?q=户籍"),
        ("/console/", "/console/"),
        ("/console", "/console"),
        ("/consoleX/evil", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console//evil.example", "/console/"),
        ("/console/../v1/me", "/console/"),
        ("/console/\\evil", "/console/"),
        (None, "/console/"),
        ("", "/console/"),
    ],
)
def test_safe_next_stays_on_the_console(target: str | None, expected: str) -> None:
    assert rules.safe_next(target) == expected


def test_password_rules() -> None:
    assert rules.password_problems("a long enough phrase", "li.hua") == []
    assert "at least 12 characters" in rules.password_problems("short", "li.hua")
    assert "must not contain the username" in rules.password_problems("li.hua-is-my-pass", "li.hua")
    assert "no leading or trailing spaces" in rules.password_problems(" padded password ", "x")


def test_argon2id_hashes_verify_and_refuse() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "wrong horse battery")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")
    assert not passwords.needs_rehash(stored)


def test_nice_tops() -> None:
    assert [charts.nice_top(v) for v in (0, 1, 3, 7, 10, 11, 480, 5000)] == [
        0,
        1,
        5,
        10,
        10,
        20,
        500,
        5000,
    ]


def test_columns_stack_their_segments_on_one_scale() -> None:
    chart = charts.stacked_columns(
        [("a", {"allowed": 6, "denied": 2}), ("b", {"allowed": 10})],
        ["allowed", "denied"],
        width=240,
        height=134,
    )
    assert chart.top == 10 and not chart.empty
    a, b = chart.bars
    assert [s.value for s in a.segments] == [6, 2] and a.total == 8
    # 100 px of plot: 6 of 10 is 60 px, the denied part sits on top of it.
    assert a.segments[0].height == 60.0 and a.segments[1].height == 20.0
    assert a.segments[1].y + a.segments[1].height == a.segments[0].y
    assert b.segments[0].height == 100.0
    assert all(s.width <= charts.MAX_COLUMN_WIDTH for bar in chart.bars for s in bar.segments)
    assert charts.stacked_columns([], ["allowed"]).empty


def test_rows_and_pivot() -> None:
    rows = charts.pivot(
        [("zj-gat", "allowed", 3), ("zj-mzt", "denied", 5), ("zj-gat", "denied", 1)]
    )
    assert rows == [("zj-mzt", {"denied": 5}), ("zj-gat", {"allowed": 3, "denied": 1})]
    ordered = charts.pivot([("2026-11-02", "allowed", 2)], ["2026-11-01", "2026-11-02"])
    assert ordered == [("2026-11-01", {}), ("2026-11-02", {"allowed": 2})]
    chart = charts.stacked_rows(rows, ["allowed", "denied"])
    assert chart.horizontal and [b.label for b in chart.bars] == ["zj-mzt", "zj-gat"]
    assert chart.bars[0].segments[1].width > chart.bars[1].segments[0].width


def test_days_back_end_today() -> None:
    assert charts.days_back(date(2026, 3, 2), 3) == ["2026-02-28", "2026-03-01", "2026-03-02"]


def test_inline_diffs_word_by_word_and_chinese_by_character() -> None:
    pieces = diff.inline("驾驶证核发与状态", "驾驶证核发、换证与状态")
    assert [(p.op, p.text) for p in pieces] == [
        ("same", "驾驶证核发"),
        ("ins", "、换证"),
        ("same", "与状态"),
    ]
    assert [(p.op, p.text) for p in diff.inline("daily", "weekly")] == [
        ("del", "daily"),
        ("ins", "weekly"),
    ]
    assert diff.inline(None, ["a"])[0] == diff.Piece("ins", '["a"]')
    assert (
        diff.as_text(True) == "true" and diff.as_text({"b": 1, "a": "中"}) == '{"a": "中", "b": 1}'
    )


def test_item_rows_skip_blanks_and_name_the_row_of_an_error() -> None:
    form = {
        "item_rows": "4",
        "item-0-code": "a",
        "item-0-name": "甲",
        "item-0-data_type": "C",
        "item-1-code": "",
        "item-1-name": "",
        "item-2-code": "c",
        "item-2-name": "丙",
        "item-2-sensitivity": "3",
        "item-2-is_key": "on",
    }
    rows = forms.item_rows(form)
    assert [r["code"] for r in rows.rows] == ["a", "c"] and rows.positions == [0, 2]
    assert rows.rows[1]["sensitivity"] == 3 and rows.rows[1]["is_key"] is True
    assert len(rows.shown) == 4
    assert rows.field_name("items[1].data_type") == "item-2-data_type"
    assert rows.field_name("items[0]") == "item-0-code"
    assert rows.field_name("items[7].code") == "items"
    assert rows.field_name("name") == "name"
    assert forms.item_rows({"item_rows": "many"}).rows == []
    assert len(forms.item_rows({"item_rows": "99999"}).shown) == forms.MAX_ITEM_ROWS


def test_errors_are_placed_beside_a_field_or_kept_with_the_form() -> None:
    placed = rules.place_errors(
        [
            {"field": "items[1]", "message": "x was not requested"},
            {"field": "reason", "message": "required"},
            {"field": "consumer_system", "message": "not yours"},
            {"field": "form", "message": "conflict"},
        ],
        ("items", "reason"),
    )
    assert placed == {
        "items": ["x was not requested"],
        "reason": ["required"],
        "form": ["consumer_system: not yours", "conflict"],
    }


def test_the_translator_fills_in_and_falls_back() -> None:
    zh, en = Translator("zh-CN"), Translator("en")
    assert zh("grants.days_left", n=3) == "剩余 3 个工作日"
    assert en("grants.days_left", n=3) == "3 working days left"
    assert Translator("fr").language == "zh-CN"
    assert zh("no.such.key") == "no.such.key"
    assert zh.label("share_type", "conditional") == "有条件共享"
    assert zh.label("share_type", "sometimes") == "sometimes"
    assert zh.pick("error.title.418", "error.title.other") == "请求未能完成"
    # A parameter's braces are data, not a format.
    assert en("home.welcome", name="{evil}") == "Welcome, {evil}"
