"""The pure rules: canonical form, hashes, signatures and the subject HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit import rules
from exchange.audit.rules import ENTRY_FIELDS

AT = datetime(2026, 11, 27, 2, 15, 4, 123000, tzinfo=UTC)


def fields(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "seq": 7,
        "at": AT,
        "request_id": "r1",
        "system": "zj-zrzyt-window",
        "department": "zj-zrzyt",
        "token_jti": "j1",
        "provider": "zj-gat",
        "resource_code": "301001001/000001",
        "resource_version": "1.0",
        "items_requested": ["name", "id_number"],
        "items_returned": ["name"],
        "subject_key": "330102199001011234",
        "purpose": "330000-ZRZY-001",
        "case_id": None,
        "grant_ids": [3],
        "decision": "partial",
        "reason": "id_number 不在授权范围",
        "policy_version": 12,
        "outcome": 200,
        "record_count": 1,
        "latency_ms": 9,
        "response_hash": "ab" * 32,
    }
    values.update(overrides)
    return values


def test_canonical_form_is_sorted_compact_utf8_json_with_explicit_nulls() -> None:
    text = rules.canonical_entry(fields()).decode()
    assert text.startswith('{"at":"2026-11-27T02:15:04.123Z","case_id":null,"decision":"partial"')
    assert '"reason":"id_number 不在授权范围"' in text  # UTF-8 as is, not \\u escapes
    assert " " not in text.replace("不在授权范围", "").replace("id_number ", "")
    assert list(json.loads(text)) == sorted(ENTRY_FIELDS)


def test_any_field_changes_the_entry_hash() -> None:
    base = rules.entry_hash(fields())
    for name, value in [("seq", 8), ("case_id", "C1"), ("items_returned", []), ("grant_ids", [])]:
        assert rules.entry_hash(fields(**{name: value})) != base


def test_chain_hash_is_sha256_of_the_two_raw_digests() -> None:
    entry = rules.entry_hash(fields())
    expected = hashlib.sha256(bytes.fromhex(rules.GENESIS) + bytes.fromhex(entry)).hexdigest()
    assert rules.chain_hash(rules.GENESIS, entry) == expected


text_values = st.one_of(st.none(), st.text(max_size=40))


@settings(max_examples=300, deadline=None, database=None)
@given(
    strings=st.fixed_dictionaries(
        {
            n: text_values
            for n in ENTRY_FIELDS
            if n not in rules.LIST_FIELDS | {"at", "seq", "decision", "outcome", "latency_ms"}
            and n not in ("record_count", "policy_version")
        }
    ),
    items=st.lists(st.text(max_size=10), max_size=4),
    grants=st.lists(st.integers(min_value=0, max_value=2**53), max_size=3),
    numbers=st.tuples(*[st.integers(min_value=0, max_value=2**31)] * 4),
    policy=st.one_of(st.none(), st.integers(min_value=0, max_value=2**53)),
)
def test_the_fast_row_form_matches_the_reference(
    strings: dict[str, str | None],
    items: list[str],
    grants: list[int],
    numbers: tuple[int, int, int, int],
    policy: int | None,
) -> None:
    values = fields(
        **strings,
        items_requested=items,
        items_returned=items[:1],
        grant_ids=grants,
        seq=numbers[0],
        outcome=numbers[1],
        latency_ms=numbers[2],
        record_count=numbers[3],
        policy_version=policy,
    )
    row = [
        rules.format_at(values[n])  # type: ignore[arg-type]
        if n == "at"
        else rules.list_text(values[n])  # type: ignore[arg-type]
        if n in rules.LIST_FIELDS
        else values[n]
        for n in ENTRY_FIELDS
    ]
    assert rules.canonical_row(row) == rules.canonical_entry(values)


def test_statements_sign_and_any_change_breaks_the_signature() -> None:
    key = Ed25519PrivateKey.generate()
    statement = rules.checkpoint_statement(
        size=10, chain_head="00" * 32, at=AT, previous=None, key_id="k1"
    )
    signature = rules.sign(key, statement)
    assert rules.signature_valid(key.public_key(), statement, signature)
    assert not rules.signature_valid(key.public_key(), {**statement, "size": 11}, signature)
    assert not rules.signature_valid(key.public_key(), statement, "garbage!")
    jwk = rules.public_jwk("k1", key.public_key())
    assert rules.signature_valid(rules.public_from_jwk(jwk), statement, signature)


def test_subject_hmac_and_its_sql_pads_agree_with_the_standard_hmac() -> None:
    key = rules.export_key("a hub secret")
    assert key != rules.export_key("another secret")
    expected = hmac.new(key, b"330102199001011234", hashlib.sha256).hexdigest()
    assert rules.subject_hmac(key, "330102199001011234") == expected
    ipad, opad = (bytes.fromhex(p) for p in rules.hmac_pads(key))
    inner = hashlib.sha256(ipad + b"330102199001011234").digest()
    assert hashlib.sha256(opad + inner).hexdigest() == expected


def test_times_keep_milliseconds_in_utc() -> None:
    at = datetime(2026, 11, 27, 10, 15, 4, 123999, tzinfo=UTC)
    assert rules.ms(at).microsecond == 123000
    assert rules.format_at(at) == "2026-11-27T10:15:04.123Z"


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_times_are_formatted_as_the_strftime_form_in_utc(at: datetime) -> None:
    # The fast path (isoformat) must give the very text entries were hashed over before.
    utc = at.astimezone(UTC)
    expected = f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
    assert rules.format_at(at) == expected
