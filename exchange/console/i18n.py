"""The console's message catalogue: Simplified Chinese by default, English selectable.

Every string a page shows comes from ``messages/<language>.json`` (flat keys such as
``nav.catalogue``); templates call ``t("nav.catalogue")``. Values given as parameters are
inserted with ``str.format`` and escaped by the templates like any other text.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = {"zh-CN": "中文", "en": "English"}
LANGUAGE_COOKIE = "datarun_console_lang"
_MESSAGES = Path(__file__).with_name("messages")


@lru_cache
def catalogue(language: str) -> dict[str, str]:
    """Return the messages of ``language`` (a key of ``LANGUAGES``)."""
    path = _MESSAGES / f"{language.replace('-', '_')}.json"
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def pick_language(value: str | None) -> str:
    """Return ``value`` if it is a console language, else the default (zh-CN)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    """Looks messages up in one language, falling back to the default, then to the key."""

    def __init__(self, language: str) -> None:
        self.language = pick_language(language)
        self._messages = catalogue(self.language)
        self._fallback = catalogue(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **params: Any) -> str:
        """Return the message ``key`` with ``params`` filled in."""
        message = self._messages.get(key) or self._fallback.get(key)
        if message is None:
            return key
        return message.format(**params) if params else message

    def pick(self, key: str, fallback_key: str, **params: Any) -> str:
        """Return the message ``key`` if the catalogue has it, else ``fallback_key``'s."""
        known = key in self._messages or key in self._fallback
        return self(key if known else fallback_key, **params)

    def refusal(self, exc: Exception) -> str:
        """Return a service's refusal in this language: the text of its ``message_key``
        (with its ``message_params``) where the catalogue has it, else its ``detail``."""
        key = getattr(exc, "message_key", None)
        if key and (key in self._messages or key in self._fallback):
            return self(key, **(getattr(exc, "message_params", None) or {}))
        return str(getattr(exc, "detail", exc))

    def label(self, group: str, value: Any) -> str:
        """Return the label of an enumerated value (e.g. ``share_type`` ``conditional``)."""
        if value is None:
            return ""
        key = f"{group}.{value}"
        found = self._messages.get(key) or self._fallback.get(key)
        return found if found is not None else str(value)
