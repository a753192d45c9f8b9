"""The HTTP adapter passes the conformance suite against a real JSON API on loopback.

Four shapes of department API: POST with a JSON body and an envelope, GET with repeated
query parameters and a bare list, one key per call with the key in the path, and the POST
API behind the resilience wrapper the pool applies to every adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from connectors.adapters.http import HttpConfig, HttpConnector
from connectors.base import Binding, Connector, ConnectorConfig
from connectors.resilience import ResiliencePolicy, ResilientConnector
from connectors.testing.sample import PEOPLE_KEYS
from connectors.testing.suite import ConnectorConformance
from tests.connectors import restserver
from tests.connectors.restserver import RestServer

ALLOW = {"http_allowlist": ["127.0.0.1:*"]}
SECRET = "conformance-api-key-5f1c"
TYPES = {"csrq": "date", "djsj": "datetime", "nsr": "decimal", "hrs": "integer"}
NOT_SQL = "an HTTP request is not SQL; test_http.py checks the fields parameter instead"


class HttpConformance(ConnectorConformance):
    """Shared hooks; subclasses pick the API shape."""

    adapter = HttpConnector
    capabilities = frozenset({"describe", "typed", "query_count", "timeout", "down", "garbage"})
    capability_notes: ClassVar[dict[str, str]] = {"sql_projection": NOT_SQL}
    server: ClassVar[RestServer]
    path = "/api/people"
    shape: ClassVar[dict[str, Any]] = {
        "key_param": "ids",
        "fields_param": "fields",
        "records_path": "data.items",
    }

    def load_sample(self, workdir: Path) -> RestServer:
        server = restserver.start()
        type(self).server = server  # one server per class, for queries_issued
        return server

    def unload_sample(self, handle: RestServer) -> None:
        handle.stop()

    def config(self, url: str, **overrides: Any) -> HttpConfig:
        data = {
            "url": url,
            **self.shape,
            "auth_header": "X-Api-Key",
            "auth_value": SECRET,
            "sample_key": PEOPLE_KEYS[0],
            "field_types": TYPES,
            "timeout_seconds": 10.0,  # generous: a loaded CI machine must not time out
            **overrides,
        }
        return HttpConfig.model_validate(data, context=ALLOW)

    def sample_config(self, handle: RestServer) -> ConnectorConfig:
        return self.config(handle.url(self.path))

    def slow_config(self, handle: RestServer) -> ConnectorConfig:
        url = handle.url("/always/slow/api/people")
        return self.config(url, timeout_seconds=self.timeout_seconds)

    def down_config(self, handle: RestServer) -> ConnectorConfig:
        return self.config(f"http://127.0.0.1:{restserver.free_port()}/api/people")

    def garbage_config(self, handle: RestServer) -> ConnectorConfig:
        return self.config(handle.url("/always/garbage/api/people"))

    def queries_issued(self, connector: Connector) -> list[str]:
        return [f"{h.method} {h.path} {h.query} {h.body}" for h in type(self).server.hits]


class TestHttpPostConformance(HttpConformance):
    """POST {"ids": [...], "fields": [...]} → {"data": {"items": [...]}}."""


class TestHttpGetConformance(HttpConformance):
    """GET ?ids=..&ids=..&fields=.. → a bare JSON list."""

    path = "/api/list"
    shape: ClassVar[dict[str, Any]] = {
        "method": "GET",
        "key_param": "ids",
        "fields_param": "fields",
        "records_path": "",
    }


class TestHttpOneKeyPerCallConformance(HttpConformance):
    """GET /api/people/{key} → {"data": {...}} or 404; a batch fans out, bounded."""

    path = "/api/people/{key}"
    shape: ClassVar[dict[str, Any]] = {
        "max_keys_per_request": 1,
        "fields_param": "fields",
        "records_path": "data",
    }
    capabilities = HttpConformance.capabilities - {"query_count"}
    capability_notes: ClassVar[dict[str, str]] = {
        "sql_projection": NOT_SQL,
        "query_count": "the API takes one key per call (max_keys_per_request=1): one request "
        "per key, by declaration",
    }


class TestHttpResilientConformance(HttpConformance):
    """The POST API behind ResilientConnector, as the pool serves every adapter."""

    def open_connector(self, binding: Binding, *, max_rows: int) -> Connector:
        # A deadline just above the adapter's timeout keeps the slow-source bound; the
        # suite fires 20 lookups at once, so let the burst queue instead of failing fast.
        timeout = binding.config.timeout_seconds  # type: ignore[attr-defined]
        policy = ResiliencePolicy(deadline_seconds=timeout + 0.2, max_waiting=20)
        return ResilientConnector(HttpConnector(binding, max_rows=max_rows), policy)
