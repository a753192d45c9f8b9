"""The HTTP adapter against a real JSON API on loopback: mapping, projection, secrets, status
mapping, size limits, and the allowlist that keeps a catalogue edit from becoming SSRF."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

from connectors.adapters.http import HttpConfig, HttpConnector, configure_http_allowlist
from connectors.base import Binding, BindingInvalid, LookupResult, SourceUnavailable
from connectors.testing.sample import COLUMNS, KEY_ITEM, PEOPLE_KEYS, RESOURCE_CODE
from tests.connectors import restserver
from tests.connectors.restserver import RestServer

T = TypeVar("T")
ALLOW = ["127.0.0.1:*"]
SECRET = "dept-api-key-8c2e41"
KEY = PEOPLE_KEYS[0]


@pytest.fixture(scope="module")
def server() -> Iterator[RestServer]:
    with restserver.running() as s:
        yield s


@pytest.fixture
def api(server: RestServer) -> Iterator[RestServer]:
    server.reset()
    yield server
    server.reset()


def make_config(url: str, allow: list[str] | None = None, **options: Any) -> HttpConfig:
    data = {
        "url": url,
        "key_param": "ids",
        "fields_param": "fields",
        "records_path": "data.items",
        "auth_header": "X-Api-Key",
        "auth_value": SECRET,
        "timeout_seconds": 10.0,  # generous; the slow-source test sets its own
        **options,
    }
    return HttpConfig.model_validate(data, context={"http_allowlist": allow or ALLOW})


def use(config: HttpConfig, scenario: Callable[[HttpConnector], Awaitable[T]]) -> T:
    """Run ``scenario`` with a fresh connector in one loop, bounded so no test can hang."""

    async def main() -> T:
        binding = Binding(RESOURCE_CODE, "http", config, KEY_ITEM, dict(COLUMNS))
        connector = HttpConnector(binding)
        try:
            async with asyncio.timeout(20):
                return await scenario(connector)
        finally:
            await connector.close()

    return asyncio.run(main())


def lookup(config: HttpConfig, keys: list[str], items: list[str]) -> LookupResult:
    return use(config, lambda c: c.lookup(keys, items))


def failure(config: HttpConfig, keys: list[str] | None = None) -> SourceUnavailable:
    with pytest.raises(SourceUnavailable) as caught:
        lookup(config, keys or [KEY], ["name"])
    return caught.value


# ---- mapping and projection ------------------------------------------------------------


def test_fields_are_mapped_to_items_and_projected_at_the_source(api: RestServer) -> None:
    result = lookup(make_config(api.url("/api/people")), [KEY], ["name", "birth_date"])
    assert result.records == [
        {"id_number": KEY, "name": "张伟", "birth_date": "1949-01-01"}  # untyped: as sent
    ]
    (hit,) = api.hits
    assert hit.body == {"ids": [KEY], "fields": ["sfzh", "xm", "csrq"]}


def test_get_sends_keys_and_fields_as_repeated_query_parameters(api: RestServer) -> None:
    config = make_config(api.url("/api/list?src=hub"), method="GET", records_path="")
    result = lookup(config, [KEY, PEOPLE_KEYS[1]], ["name"])
    assert {r["id_number"] for r in result.records} == {KEY, PEOPLE_KEYS[1]}
    (hit,) = api.hits
    assert hit.query == [
        ("src", "hub"),
        ("ids", KEY),
        ("ids", PEOPLE_KEYS[1]),
        ("fields", "sfzh"),
        ("fields", "xm"),
    ]


def test_unrequested_fields_and_records_never_leave_the_adapter(api: RestServer) -> None:
    api.fault("extra")  # the API ignores the field list and adds records nobody asked for
    result = lookup(make_config(api.url("/api/people")), [PEOPLE_KEYS[5]], ["name"])
    assert result.records == [{"id_number": PEOPLE_KEYS[5], "name": "杨磊"}]


def test_records_path_without_the_list_means_no_records(api: RestServer) -> None:
    config = make_config(api.url("/api/people"), records_path="data.nothing_here")
    result = lookup(config, [KEY], ["name"])
    assert result.records == [] and result.missing == [KEY]


def test_a_non_list_at_records_path_is_a_bad_response(api: RestServer) -> None:
    error = failure(make_config(api.url("/api/people"), records_path="code"))
    assert error.reason == "bad_response" and error.transient is False


def test_a_big_batch_is_split_by_max_keys_per_request(api: RestServer) -> None:
    config = make_config(api.url("/api/people"), max_keys_per_request=5)
    result = lookup(config, list(PEOPLE_KEYS[:12]), ["name"])
    assert len(result.records) == 12
    assert sorted(len(h.body["ids"]) for h in api.hits) == [2, 5, 5]


def test_a_key_in_the_path_is_encoded_and_cannot_climb_it(api: RestServer) -> None:
    config = make_config(api.url("/api/people/{key}"), max_keys_per_request=1, records_path="data")
    hostile = ["../../admin", "a/b?c=d#e", "%2e%2e"]
    result = lookup(config, hostile, ["name"])
    assert result.records == [] and result.missing == hostile
    assert [h.path for h in api.hits] == [f"/api/people/{k}" for k in hostile]


# ---- secrets ---------------------------------------------------------------------------


def test_auth_header_is_sent_and_never_shown(
    api: RestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(api.url("/api/people"))
    lookup(config, [KEY], ["name"])
    assert api.hits[0].headers["x-api-key"] == SECRET
    api.fault("status", status=500)
    error = failure(config)
    down = failure(make_config(f"http://127.0.0.1:{restserver.free_port()}/x"))
    binding = Binding(RESOURCE_CODE, "http", config, KEY_ITEM, dict(COLUMNS))
    shown = [
        str(error),
        str(down),
        repr(config),
        config.model_dump_json(),
        repr(HttpConnector(binding)),
        caplog.text,
    ]
    assert all(SECRET not in text for text in shown)


# ---- status mapping and broken answers -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "transient"),
    [
        (500, "error", False),
        (401, "error", False),
        (400, "error", False),
        (502, "unreachable", True),
        (503, "unreachable", True),
        (504, "unreachable", True),
    ],
)
def test_status_mapping(api: RestServer, status: int, reason: str, transient: bool) -> None:
    api.fault("status", status=status)
    error = failure(make_config(api.url("/api/people")))
    assert (error.reason, error.transient) == (reason, transient)
    assert str(status) in str(error)


def test_429_is_rate_limited_with_retry_after(api: RestServer) -> None:
    api.fault("status", status=429, retry_after="7")
    error = failure(make_config(api.url("/api/people")))
    assert (error.reason, error.transient, error.retry_after) == ("rate_limited", True, 7.0)


def test_404_means_no_records(api: RestServer) -> None:
    api.fault("status", status=404)
    result = lookup(make_config(api.url("/api/people")), [KEY, PEOPLE_KEYS[1]], ["name"])
    assert result.records == [] and result.missing == [KEY, PEOPLE_KEYS[1]]


def test_status_mapping_is_configurable(api: RestServer) -> None:
    api.fault("status", status=500)
    config = make_config(api.url("/api/people"), transient_statuses=[500, 503])
    assert failure(config).transient is True


@pytest.mark.parametrize("mode", ["garbage", "oversized", "flood"])
def test_garbage_and_oversized_bodies_are_bad_responses(api: RestServer, mode: str) -> None:
    api.fault(mode)
    config = make_config(api.url("/api/people"), max_response_bytes=1_048_576)
    error = failure(config)
    assert error.reason == "bad_response" and error.transient is False


def test_a_dropped_connection_is_unreachable(api: RestServer) -> None:
    api.fault("drop")
    error = failure(make_config(api.url("/api/people")))
    assert error.reason == "unreachable" and error.transient is True


def test_a_slow_api_times_out_within_its_timeout(api: RestServer) -> None:
    api.fault("slow", delay=10)
    config = make_config(api.url("/api/people"), timeout_seconds=0.5)
    started = time.monotonic()
    error = failure(config)
    assert error.reason == "timeout"
    assert time.monotonic() - started < 0.5 + 1.0


def test_a_server_that_is_down_is_unreachable() -> None:
    started = time.monotonic()
    error = failure(make_config(f"http://127.0.0.1:{restserver.free_port()}/api/people"))
    assert error.reason == "unreachable"
    assert time.monotonic() - started < 5


def test_a_value_that_does_not_fit_its_declared_type_is_a_bad_response(api: RestServer) -> None:
    config = make_config(api.url("/api/people"), field_types={"xm": "date"})
    error = failure(config)
    assert error.reason == "bad_response" and "xm" in str(error)


# ---- allowlist (SSRF) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://10.0.0.8/api", ["127.0.0.1:*"]),
        ("http://127.0.0.1:9000/api", ["127.0.0.1:8000"]),
        ("https://api.zjzwfw.gov.cn/x", ["api.zjzwfw.gov.cn:80"]),
        ("https://evil.example.org/x", ["*.zjzwfw.gov.cn:443"]),
        ("https://zjzwfw.gov.cn.evil.org/x", ["zjzwfw.gov.cn:*"]),
        ("http://[::1]:8000/x", ["127.0.0.1:*"]),
        ("http://127.0.0.1/x", []),
    ],
)
def test_a_url_off_the_allowlist_is_refused(url: str, allow: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        HttpConfig.model_validate({"url": url}, context={"http_allowlist": allow})
    (problem,) = caught.value.errors()
    assert problem["loc"] == ("url",) and "allowlist" in problem["msg"]


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("https://api.zjzwfw.gov.cn/x", ["api.zjzwfw.gov.cn:443"]),
        ("https://data.hz.zjzwfw.gov.cn/x", ["*.zjzwfw.gov.cn:443"]),
        ("http://[::1]:8000/x", ["[::1]:*"]),
        ("HTTP://LOCALHOST:81/x", ["localhost:81"]),
    ],
)
def test_a_url_on_the_allowlist_is_accepted(url: str, allow: list[str]) -> None:
    HttpConfig.model_validate({"url": url}, context={"http_allowlist": allow})


def test_the_process_allowlist_applies_without_a_context() -> None:
    try:
        configure_http_allowlist([])
        with pytest.raises(ValidationError):
            HttpConfig(url="http://127.0.0.1:8000/x")
        configure_http_allowlist(["127.0.0.1:8000"])
        HttpConfig(url="http://127.0.0.1:8000/x")
    finally:
        configure_http_allowlist([])


def test_a_redirect_off_the_allowlist_is_not_followed(api: RestServer) -> None:
    target = f"http://localhost:{api.port}/api/people"  # same server, but not allowlisted
    config = make_config(api.url(f"/redirect?to={target}"), allow=[f"127.0.0.1:{api.port}"])
    error = failure(config)
    assert error.reason == "error" and "allowlist" in str(error)
    assert api.hits == []  # the redirect target was never contacted


def test_a_redirect_on_the_allowlist_is_followed_without_the_secret_cross_origin(
    api: RestServer,
) -> None:
    target = f"http://localhost:{api.port}/api/people"
    allow = [f"127.0.0.1:{api.port}", f"localhost:{api.port}"]
    result = lookup(make_config(api.url(f"/redirect?to={target}"), allow=allow), [KEY], ["name"])
    assert [r["id_number"] for r in result.records] == [KEY]
    (hit,) = api.hits
    assert "x-api-key" not in hit.headers


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/x"}, "url"),
        ({"url": "http://127.0.0.1/p/{key}"}, "max_keys_per_request"),  # one key per call
        ({"url": "http://127.0.0.1/p?id={key}"}, "url"),  # a placeholder only in the path
        ({"auth_header": "X-Api-Key"}, "auth_value"),
        ({"key_param": "ids", "fields_param": "ids"}, "fields_param"),
        ({"auth_header": "X-Api-Key\r\nX-Evil: 1", "auth_value": "v"}, "auth_header"),
        ({"records_path": "x" * 300}, "records_path"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_config_is_refused(options: dict[str, Any], field: str) -> None:
    data = {"url": "http://127.0.0.1/x", **options}
    with pytest.raises(ValidationError) as caught:
        HttpConfig.model_validate(data, context={"http_allowlist": ALLOW})
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_describe_lists_the_fields_of_the_sample_record(api: RestServer) -> None:
    config = make_config(api.url("/api/people"), sample_key=PEOPLE_KEYS[2])
    columns = {c.name: (c.type, c.nullable) for c in use(config, lambda c: c.describe())}
    assert columns["sfzh"] == ("string", False)
    assert columns["hrs"] == ("null", True)  # 李娜's household size is unknown
    assert set(COLUMNS.values()) <= set(columns)
    assert api.hits[0].body == {"ids": [PEOPLE_KEYS[2]]}  # no field list: every field


def test_describe_needs_a_sample_key(api: RestServer) -> None:
    with pytest.raises(BindingInvalid) as caught:
        use(make_config(api.url("/api/people")), lambda c: c.describe())
    assert caught.value.problems[0]["field"] == "config.sample_key"
