"""Readable diffs of a catalogue entry's versions: what each change replaced, word by word."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

_TOKENS = re.compile(r"\s+|[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Piece:
    """A run of text that stayed (``same``), went (``del``) or came (``ins``)."""

    op: str
    text: str


def as_text(value: Any) -> str:
    """Return a value of a version change as text (lists and objects as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def inline(old: Any, new: Any) -> list[Piece]:
    """Return the word-level diff of two values (each Chinese character is a word)."""
    a, b = _TOKENS.findall(as_text(old)), _TOKENS.findall(as_text(new))
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("ins", "".join(b[j1:j2])))
    return pieces
