"""The hashed bytes of a pull's records: orjson's output is the standard library's form.

A caller checks ``records_sha256`` by re-serialising ``records`` as ``json.dumps(records,
sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (README, "Record pulls"); the
hub writes them with orjson. These tests hold the two to the same bytes for every value a
pull can answer with, and check the fall-back for what orjson refuses.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.records import rules


def stdlib(value: Any, *, sort_keys: bool = True) -> bytes:
    return json.dumps(
        value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# Every code point but the surrogates (which UTF-8 cannot carry): control characters,
# quotes, backslashes, U+2028, CJK, astral planes (whose key order differs in UTF-16).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_canonical_json_is_the_standard_librarys_form(value: Any) -> None:
    assert rules.canonical_json(value) == stdlib(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(TEXT, VALUES, max_size=6))
def test_an_answers_head_keeps_its_key_order(head: dict[str, Any]) -> None:
    assert rules.compact_json(head) == stdlib(head, sort_keys=False)
    assert json.loads(rules.compact_json(head)) == head


def test_values_as_a_pull_answers_them() -> None:
    row = {
        "name": '张三\u2028"引号"\\',
        "amount": Decimal("12.50"),
        "born": date(1990, 1, 1),
        "seen": datetime(2026, 11, 28, 8, 30),
        "photo": b"\x00\xff",
        "ratio": 0.1,
        "big": 2**70,  # beyond orjson's 64 bits: the standard library writes it
        "nothing": None,
        "flag": True,
        "\U0001f600 astral": "after U+FFFF in code point order, before it in UTF-16",
        "\uffff bmp": "x",
        "ctl": "\x00\x1f\x7f\t",
    }
    records = [{"key": "1", "values": {k: rules.json_value(v) for k, v in row.items()}}]
    assert rules.canonical_json(records) == stdlib(records)
    expected = hashlib.sha256(stdlib(records)).hexdigest()
    assert rules.records_sha256(records) == expected


def test_a_lone_surrogate_from_a_source_becomes_the_replacement_character() -> None:
    # A REST department's JSON "\ud800" decodes to a lone surrogate, which UTF-8 cannot
    # carry: the answer holds U+FFFD there, and the hash is over what is sent.
    records = [{"key": "1", "values": {"name": "a\ud800b", "n": 2**70}}]
    sent = rules.canonical_json(records)
    assert json.loads(sent) == [{"key": "1", "values": {"name": "a\ufffdb", "n": 2**70}}]
    assert rules.canonical_json(json.loads(sent)) == sent
    assert rules.records_sha256(records) == hashlib.sha256(sent).hexdigest()
