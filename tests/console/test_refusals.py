"""A service's refusal in the console: in the viewer's language where it has a message key.

Services raise ``DomainError(detail, message_key=..., message_params=...)``: the API keeps
the English ``detail``; the console shows the key's text (zh-CN by default, English when
chosen) and the detail where a refusal has no key.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from exchange.console.i18n import LANGUAGES, Translator, catalogue
from exchange.core.errors import Conflict

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "exchange", ROOT / "catalogs"]


def _used_keys() -> dict[str, set[str] | None]:
    """Every ``refusal.*`` key in the source, with the params its raises name.

    A raise naming its key and params literally gives both; a key chosen by an expression
    (e.g. from a dict by the action refused) is found as a string and its params are not
    checked here (None).
    """
    used: dict[str, set[str] | None] = {}
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and re.fullmatch(r"refusal\.[a-z_]+\.[a-z_]+", text):
                    used.setdefault(text, None)
            for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
                words = {k.arg: k.value for k in call.keywords}
                key, params = words.get("message_key"), words.get("message_params")
                if not isinstance(key, ast.Constant) or not isinstance(params, ast.Dict | None):
                    continue
                names = (
                    {k.value for k in params.keys if isinstance(k, ast.Constant)}
                    if params
                    else set()
                )
                known = used.get(key.value)
                used[key.value] = names if known is None else known & names
    return used


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_refusal_key_has_its_text_in_each_language_with_the_params_it_needs() -> None:
    used = _used_keys()
    assert len(used) >= 60  # the catalogue, grants, bindings and objections refusals
    for language in LANGUAGES:
        messages = catalogue(language)
        for key, params in used.items():
            assert key in messages, f"{language}: {key} has no text"
            if params is not None:  # every raise with this key gives what its text names
                assert _placeholders(messages[key]) <= params, f"{language}: {key}"
    zh, en = catalogue("zh-CN"), catalogue("en")
    for key in used:
        assert _placeholders(zh[key]) == _placeholders(en[key]), key
    # No text is left behind by a refusal that no longer uses it.
    for messages in (zh, en):
        assert {k for k in messages if k.startswith("refusal.")} == set(used)


def test_a_refusal_is_shown_in_the_viewers_language_and_the_detail_where_it_has_no_key() -> None:
    key = next(iter(sorted(_used_keys())))
    params = {name: "X" for name in _placeholders(catalogue("zh-CN")[key])}
    refusal = Conflict("the English detail", message_key=key, message_params=params)
    zh, en = Translator("zh-CN").refusal(refusal), Translator("en").refusal(refusal)
    assert zh == catalogue("zh-CN")[key].format(**params)
    assert re.search(r"[\u4e00-\u9fff]", zh) and zh != en
    assert Translator("zh-CN").refusal(Conflict("no key here")) == "no key here"
    unknown = Conflict("an old key", message_key="refusal.nowhere.gone")
    assert Translator("zh-CN").refusal(unknown) == "an old key"


def test_the_chinese_refusal_texts_are_chinese() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    for key, text in catalogue("zh-CN").items():
        if key.startswith("refusal."):
            assert han.search(text), f"{key}: {text}"
