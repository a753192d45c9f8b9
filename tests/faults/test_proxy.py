"""The fault proxy misbehaves exactly as asked, in front of the demo HTTP department."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment
from faults.proxy import BackgroundProxy

QUERY = {"aac002": [cast.BUYER_ID], "fields": ["aac002", "aac003"]}


@pytest.fixture
def proxy(demo_department: HttpDepartment) -> BackgroundProxy:
    port = int(demo_department.base_url.rsplit(":", 1)[1])
    with BackgroundProxy("127.0.0.1", port) as running:
        yield running


def _query(proxy: BackgroundProxy, key: str, **kw: object) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/api/v1/cbxx/query",
        json=QUERY,
        headers={"X-Api-Key": key},
        timeout=kw.pop("timeout", 5.0),  # type: ignore[arg-type]
    )


def test_pass_forwards_and_each_mode_answers_as_named(
    proxy: BackgroundProxy, demo_department: HttpDepartment
) -> None:
    key = demo_department.api_key
    # pass, on one kept-alive connection: the mode applies per request.
    with httpx.Client(base_url=proxy.url, headers={"X-Api-Key": key}) as client:
        first = client.post("/api/v1/cbxx/query", json=QUERY)
        assert (
            first.status_code == 200 and first.json()["data"]["items"][0]["aac002"] == cast.BUYER_ID
        )
        proxy.set_mode("http_500")
        assert client.post("/api/v1/cbxx/query", json=QUERY).status_code == 500
    proxy.set_mode("rate_limited")
    limited = _query(proxy, key)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    proxy.set_mode("garbage")
    garbage = _query(proxy, key)
    assert garbage.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        garbage.json()
    proxy.set_mode("oversized")
    with httpx.stream("POST", f"{proxy.url}/api/v1/cbxx/query", json=QUERY) as big:
        assert big.status_code == 200 and "content-length" not in big.headers
        received = 0
        for chunk in big.iter_bytes():
            received += len(chunk)
            if received > 1_000_000:
                break
    assert received > 1_000_000
    proxy.set_mode("slow")
    started = time.monotonic()
    assert _query(proxy, key).status_code == 200
    assert time.monotonic() - started >= 0.2  # 3× the upstream, counted at least 0.1 s


def test_refused_stops_listening_and_timeout_never_answers(
    proxy: BackgroundProxy, demo_department: HttpDepartment
) -> None:
    key = demo_department.api_key
    port = proxy.port
    proxy.set_mode("refused")
    with pytest.raises(httpx.ConnectError):
        _query(proxy, key)
    proxy.set_mode("timeout")
    assert proxy.port == port  # back on the same port
    with pytest.raises(httpx.ReadTimeout):
        _query(proxy, key, timeout=0.3)
    proxy.set_mode("pass")
    assert _query(proxy, key).status_code == 200


def test_a_tcp_proxy_pipes_any_protocol(demo_department: HttpDepartment) -> None:
    port = int(demo_department.base_url.rsplit(":", 1)[1])
    with BackgroundProxy("127.0.0.1", port, protocol="tcp") as tcp:
        assert httpx.get(f"{tcp.url}/healthz").status_code == 200
        tcp.set_mode("refused")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{tcp.url}/healthz")
        tcp.set_mode("pass")
        assert httpx.get(f"{tcp.url}/healthz").status_code == 200
        with pytest.raises(ValueError, match="unknown mode"):
            tcp.set_mode("garbage")
