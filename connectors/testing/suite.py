"""The conformance suite every adapter passes, modelled on SQLAlchemy's dialect suite.

Extension point. An adapter's test module subclasses ``ConnectorConformance`` once per
backend, names a class starting with ``Test`` and fills in the hooks::

    class TestSqliteConformance(ConnectorConformance):
        adapter = SqlConnector
        capabilities = frozenset({"describe", "timeout", "down", "garbage", "typed",
                                  "query_count", "sql_projection"})

        def load_sample(self, workdir):            # put SAMPLE_ROWS in the backend
            ...; return handle
        def sample_config(self, handle):           # a config reaching that sample
            return SqlConfig(url=..., table="people")
        def queries_issued(self, connector):       # statements/requests sent so far
            ...

Capabilities (a test needing one the class does not declare is skipped, visibly, with
"adapter lacks capability X" and the class's ``capability_notes`` entry as the reason):

- ``describe``: ``describe()`` lists the source's columns;
- ``typed``: dates come back as ``date``, timestamps as ``datetime``, decimals as ``Decimal``,
  integers as ``int``;
- ``query_count``: ``queries_issued(connector)`` lists every query/request sent to the source;
- ``sql_projection``: those entries are SQL text, so the SELECT list can be inspected;
- ``timeout``: ``slow_config(handle)`` reaches a source slower than ``timeout_seconds``;
- ``down``: ``down_config(handle)`` reaches nothing (closed port, missing file);
- ``garbage``: ``garbage_config(handle)`` reaches a source answering nonsense.

Every test runs its scenario in one event loop (``asyncio.run``): the connector is opened,
used and closed inside it, so adapters holding loop-bound clients work too.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import BindingInvalid, Connector, LookupResult, SourceUnavailable
from connectors.testing.harness import (
    ALL_ITEMS,
    CAPABILITIES,
    ConnectorHarness,
    secret_values,
    select_list,
)
from connectors.testing.sample import (
    COLUMNS,
    INJECTION_KEY,
    INJECTION_PROBES,
    KEY_ITEM,
    MISSING_KEY,
    PEOPLE_KEYS,
    SAMPLE_ROWS,
    expected_record,
)

__all__ = ["CAPABILITIES", "ConnectorConformance", "secret_values"]


class ConnectorConformance(ConnectorHarness):
    """Base class of every adapter's conformance test; see the module docstring."""

    # ---- lookups -------------------------------------------------------------------------

    def test_one_key(self, sample_handle: Any) -> None:
        key = PEOPLE_KEYS[0]
        result = self.lookup(sample_handle, [key])
        assert result.records == [expected_record(key)]
        assert result.missing == []
        assert result.truncated is False

    def test_batch_of_keys(self, sample_handle: Any) -> None:
        keys = [*PEOPLE_KEYS[3:13], MISSING_KEY, PEOPLE_KEYS[5]]  # a miss, a repeat
        result = self.lookup(sample_handle, keys)
        found = sorted(r[KEY_ITEM] for r in result.records)
        assert found == sorted(PEOPLE_KEYS[3:13])
        assert result.missing == [MISSING_KEY]
        for record in result.records:
            assert record == expected_record(record[KEY_ITEM])

    def test_batch_is_one_query(self, sample_handle: Any) -> None:
        self.require("query_count")

        async def scenario(c: Connector) -> tuple[int, int]:
            await c.lookup([PEOPLE_KEYS[0]], ["name"])  # warm-up: reflection, first connect
            before = len(self.queries_issued(c))
            result = await c.lookup(list(PEOPLE_KEYS), ["name"])
            assert len(result.records) == len(PEOPLE_KEYS)
            return before, len(self.queries_issued(c))

        before, after = self.run(self.sample_config(sample_handle), scenario)
        assert after - before == 1, f"{after - before} queries for one batch of 20 keys"

    def test_missing_key(self, sample_handle: Any) -> None:
        result = self.lookup(sample_handle, [MISSING_KEY])
        assert result.records == []
        assert result.missing == [MISSING_KEY]

    def test_no_keys_no_records(self, sample_handle: Any) -> None:
        result = self.lookup(sample_handle, [])
        assert result.records == [] and result.missing == []

    def test_keys_match_exactly(self, sample_handle: Any) -> None:
        # Collations that fold case or ignore trailing spaces must not widen a match.
        x_key = next(k for k in PEOPLE_KEYS if k.endswith("X"))
        probes = [x_key.lower(), x_key + " ", " " + x_key]
        result = self.lookup(sample_handle, probes)
        assert result.records == []
        assert result.missing == probes

    def test_max_rows_caps_the_answer(self, sample_handle: Any) -> None:
        async def scenario(c: Connector) -> LookupResult:
            return await c.lookup(list(PEOPLE_KEYS[:5]), ["name"])

        result = self.run(self.sample_config(sample_handle), scenario, max_rows=3)
        assert result.truncated is True
        assert len(result.records) == 3
        assert {r[KEY_ITEM] for r in result.records} <= set(PEOPLE_KEYS[:5])

    def test_concurrent_lookups(self, sample_handle: Any) -> None:
        async def scenario(c: Connector) -> list[LookupResult]:
            calls = [c.lookup([key], ["name"]) for key in PEOPLE_KEYS]
            return list(await asyncio.gather(*calls))

        results = self.run(self.sample_config(sample_handle), scenario)
        assert [r.records for r in results] == [[expected_record(k, ["name"])] for k in PEOPLE_KEYS]

    # ---- projection ----------------------------------------------------------------------

    def test_projection_returns_only_requested_items(self, sample_handle: Any) -> None:
        key = PEOPLE_KEYS[1]
        result = self.lookup(sample_handle, [key], ("name", "birth_date"))
        assert result.records == [expected_record(key, ["name", "birth_date"])]
        assert set(result.records[0]) == {KEY_ITEM, "name", "birth_date"}

    def test_projection_happens_at_the_source(self, sample_handle: Any) -> None:
        self.require("sql_projection")

        async def scenario(c: Connector) -> str:
            await c.lookup([PEOPLE_KEYS[1]], ["name"])
            return self.queries_issued(c)[-1]

        statement = self.run(self.sample_config(sample_handle), scenario)
        selected = select_list(statement)
        assert {COLUMNS[KEY_ITEM], COLUMNS["name"]} <= selected
        unrequested = set(COLUMNS.values()) - {COLUMNS[KEY_ITEM], COLUMNS["name"]}
        assert not selected & unrequested, f"unrequested columns read: {statement}"

    def test_unmapped_item_is_refused(self, sample_handle: Any) -> None:
        with pytest.raises(BindingInvalid):
            self.lookup(sample_handle, [PEOPLE_KEYS[0]], ("name", "no_such_item"))

    # ---- hostile keys --------------------------------------------------------------------

    def test_injection_keys_match_nothing(self, sample_handle: Any) -> None:
        async def scenario(c: Connector) -> list[LookupResult]:
            one_by_one = [await c.lookup([probe], list(ALL_ITEMS)) for probe in INJECTION_PROBES]
            together = await c.lookup(list(INJECTION_PROBES), list(ALL_ITEMS))
            everyone = await c.lookup(list(PEOPLE_KEYS), ["name"])
            return [*one_by_one, together, everyone]

        *single, together, everyone = self.run(self.sample_config(sample_handle), scenario)
        for probe, result in zip(INJECTION_PROBES, single, strict=True):
            assert result.records == [], f"{probe!r} leaked rows"
            assert result.missing == [probe]
        assert together.records == []
        assert sorted(together.missing) == sorted(INJECTION_PROBES)
        # The source is intact afterwards.
        assert len(everyone.records) == len(PEOPLE_KEYS)

    def test_injection_key_matches_its_literal_row_only(self, sample_handle: Any) -> None:
        result = self.lookup(sample_handle, [INJECTION_KEY])
        assert result.records == [expected_record(INJECTION_KEY)]

    # ---- values --------------------------------------------------------------------------

    def test_chinese_text_round_trip(self, sample_handle: Any) -> None:
        result = self.lookup(sample_handle, list(PEOPLE_KEYS), ("name", "address", "remark"))
        by_key = {r[KEY_ITEM]: r for r in result.records}
        for key in PEOPLE_KEYS:
            assert by_key[key] == expected_record(key, ["name", "address", "remark"])
        assert any("𠮷" in (r["name"] or "") for r in result.records)

    def test_nulls_are_none(self, sample_handle: Any) -> None:
        key = next(r["sfzh"] for r in SAMPLE_ROWS if r["nsr"] is None and r["zz"] is None)
        result = self.lookup(sample_handle, [key])
        record = result.records[0]
        assert record["income"] is None
        assert record["address"] is None
        assert record["household_size"] is None
        assert record["remark"] is None

    def test_dates_decimals_and_integers_are_typed(self, sample_handle: Any) -> None:
        self.require("typed")
        result = self.lookup(sample_handle, list(PEOPLE_KEYS))
        for record in result.records:
            want = expected_record(record[KEY_ITEM])
            assert type(record["birth_date"]) is date and record["birth_date"] == want["birth_date"]
            assert type(record["registered_at"]) is datetime
            assert record["registered_at"] == want["registered_at"]
            if want["income"] is not None:
                assert isinstance(record["income"], Decimal)
                assert record["income"] == want["income"]
            if want["household_size"] is not None:
                assert type(record["household_size"]) is int

    # ---- health and describe -------------------------------------------------------------

    def test_check_reports_healthy(self, sample_handle: Any) -> None:
        async def scenario(c: Connector) -> Any:
            return await c.check()

        health = self.run(self.sample_config(sample_handle), scenario)
        assert health.ok is True, health.detail
        assert health.latency_ms >= 0

    def test_describe_lists_the_mapped_columns(self, sample_handle: Any) -> None:
        self.require("describe")

        async def scenario(c: Connector) -> Any:
            return await c.describe()

        columns = self.run(self.sample_config(sample_handle), scenario)
        assert set(COLUMNS.values()) <= {c.name for c in columns}

    def test_secrets_stay_out_of_reprs(self, sample_handle: Any) -> None:
        config = self.sample_config(sample_handle)
        binding = self.binding(config)
        for secret in secret_values(config):
            assert secret not in repr(config) and secret not in repr(binding)

    # ---- failing sources -----------------------------------------------------------------

    def test_slow_source_times_out_within_the_deadline(self, sample_handle: Any) -> None:
        self.require("timeout")

        async def scenario(c: Connector) -> tuple[SourceUnavailable, float]:
            started = time.perf_counter()
            with pytest.raises(SourceUnavailable) as caught:
                await c.lookup([PEOPLE_KEYS[0]], ["name"])
            return caught.value, time.perf_counter() - started

        error, elapsed = self.run(self.slow_config(sample_handle), scenario)
        assert error.reason == "timeout", error
        assert elapsed < self.timeout_seconds * 1.5 + 0.5, f"took {elapsed:.2f} s"

    def test_slow_source_does_not_block_the_event_loop(self, sample_handle: Any) -> None:
        self.require("timeout")

        async def scenario(c: Connector) -> int:
            ticks = 0
            done = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not done.is_set():
                    await asyncio.sleep(0.01)
                    ticks += 1

            task = asyncio.create_task(ticker())
            with pytest.raises(SourceUnavailable):
                await c.lookup([PEOPLE_KEYS[0]], ["name"])
            done.set()
            await task
            return ticks

        ticks = self.run(self.slow_config(sample_handle), scenario)
        # Roughly timeout / 10 ms ticks if the loop stayed free; a blocked loop gets ~0. The
        # bar is low (10 %) because a busy machine delays every tick, not because 10 % is ok.
        assert ticks >= self.timeout_seconds * 100 * 0.1, f"only {ticks} ticks"

    def test_down_source_is_unavailable(self, sample_handle: Any) -> None:
        self.require("down")
        config = self.down_config(sample_handle)

        async def scenario(c: Connector) -> tuple[SourceUnavailable, Any, float]:
            started = time.perf_counter()
            with pytest.raises(SourceUnavailable) as caught:
                await c.lookup([PEOPLE_KEYS[0]], ["name"])
            health = await c.check()
            return caught.value, health, time.perf_counter() - started

        error, health, elapsed = self.run(config, scenario)
        assert error.reason == "unreachable", error
        assert health.ok is False
        assert elapsed < self.down_deadline_seconds
        for secret in secret_values(config):
            assert secret not in str(error) and secret not in health.detail

    def test_garbage_is_a_bad_response(self, sample_handle: Any) -> None:
        self.require("garbage")

        async def scenario(c: Connector) -> SourceUnavailable:
            with pytest.raises(SourceUnavailable) as caught:
                await c.lookup(list(PEOPLE_KEYS), list(ALL_ITEMS))
            return caught.value

        error = self.run(self.garbage_config(sample_handle), scenario)
        assert error.reason == "bad_response", error
