"""The database builds the canonical form verify hashes: it must match Python's on any text."""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from exchange.audit.verify import verify_log
from exchange.core.settings import Settings
from tests.audit.support import make_log, record

anything = st.text(max_size=30)  # any code point: controls, quotes, CJK, emoji, surrogates
maybe = st.one_of(st.none(), anything)


@examples(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.fixed_dictionaries(
        {
            "request_id": maybe,
            "system": maybe,
            "department": maybe,
            "provider": maybe,
            "subject_key": maybe,
            "purpose": maybe,
            "case_id": maybe,
            "reason": maybe,
            "resource_code": maybe,
        }
    ),
    items=st.lists(anything, max_size=3),
    grants=st.lists(st.integers(min_value=0, max_value=2**53), max_size=3),
    policy=st.one_of(st.none(), st.integers(min_value=0, max_value=2**53)),
)
def test_any_stored_text_verifies(
    settings: Settings,
    text: dict[str, str | None],
    items: list[str],
    grants: list[int],
    policy: int | None,
) -> None:
    log = make_log(settings, audit_group_commit=False)
    try:
        entry = log.append(
            record(1, **text, items_requested=items, grant_ids=grants, policy_version=policy)
        )
        result = verify_log(log.engine, secret=None, from_seq=entry.seq)
    finally:
        log.close()
    assert result.ok, (result.problems, text, items)
