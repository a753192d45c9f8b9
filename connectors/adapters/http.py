"""HTTP adapter: a department's own JSON API (部门自建接口).

How keys travel (never spliced into the URL unencoded):

- ``method="POST"`` (default): one request per batch with the JSON body
  ``{"<key_param>": [keys...], "<fields_param>": [fields...]}``. Keys stay out of URLs,
  so out of access logs on both sides.
- ``method="GET"``: one request per batch, keys as a repeated query parameter
  ``?<key_param>=k1&<key_param>=k2`` (and ``&<fields_param>=f`` per field).
- An API that takes one key per call declares ``max_keys_per_request=1``; its URL may then
  carry a ``{key}`` placeholder in the path, filled with the percent-encoded key (``/`` and
  ``.`` included, so no key can climb the path). A batch fans out with at most
  ``max_parallel_requests`` requests in flight; larger APIs' batches above
  ``max_keys_per_request`` are split the same way.

The response holds the records at ``records_path`` (dotted, e.g. ``"data.items"``; empty:
the body is the list). Each record's fields are mapped to catalogue items through the
binding's columns; fields nobody asked for are dropped even when the department sends them,
and records whose key was not asked for are dropped too. When the API supports a field list
(``fields_param``), projection happens at the source as well.

Safety: the target host must match the hub's allowlist (``configure_http_allowlist`` or the
validation context ``{"http_allowlist": [...]}``), checked when the config is validated and
again on every redirect hop; the auth header value is a ``SecretStr``, sent only to the
configured origin and never put in a message; responses are streamed and cut off beyond
``max_response_bytes``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from connectors.adapters.http_config import (
    KEY_PLACEHOLDER,
    READERS,
    HttpConfig,
    configure_http_allowlist,
    host_allowed,
)
from connectors.base import (
    Binding,
    BindingInvalid,
    Connector,
    ConnectorConfig,
    Health,
    LookupResult,
    Record,
    SourceColumn,
    SourceUnavailable,
)

__all__ = ["HttpConfig", "HttpConnector", "configure_http_allowlist", "host_allowed"]

_MAX_REDIRECTS = 3


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(3600.0, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        return min(3600.0, max(0.0, parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError):
        return None


class HttpConnector(Connector):
    """Looks records up through a department's JSON API with one pooled httpx client."""

    name: ClassVar[str] = "http"
    config_model: ClassVar[type[ConnectorConfig]] = HttpConfig

    def __init__(self, binding: Binding, *, max_rows: int = 1000) -> None:
        super().__init__(binding, max_rows=max_rows)
        if not isinstance(binding.config, HttpConfig):
            raise BindingInvalid("the http adapter needs an HttpConfig", [])
        self.config: HttpConfig = binding.config
        self._origin = _origin(httpx.URL(self.config.url.replace(KEY_PLACEHOLDER, "k")))
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"<HttpConnector {self.binding.resource_code} {self._origin[1]}>"

    async def lookup(self, keys: Sequence[str], items: Sequence[str]) -> LookupResult:
        """Return the records for ``keys`` with only ``items`` (and the key item)."""
        projection = self.projection(items)
        asked = list(dict.fromkeys(str(k) for k in keys))
        # An empty key would name the collection itself in a {key} path: it has no record.
        sendable = [k for k in asked if k] if self._path_mode else asked
        size = self.config.max_keys_per_request
        batches = [sendable[i : i + size] for i in range(0, len(sendable), size)]
        fields = list(projection.values())
        rows: list[Any] = []
        if len(batches) == 1:
            rows = await self._fetch(batches[0], fields)
        elif batches:
            rows = await self._fan_out(batches, fields)
        records = self._project(rows, set(asked), projection)
        truncated = len(records) > self.max_rows
        records = records[: self.max_rows]
        found = {str(r[self.binding.key_item]) for r in records}
        missing = [] if truncated else [k for k in asked if k not in found]
        return LookupResult(records=records, missing=missing, truncated=truncated)

    async def check(self) -> Health:
        """Probe the API with the sample key (or a key that cannot exist)."""
        started = time.perf_counter()
        probe = self.config.sample_key or "datarun-health-probe"
        try:
            await self._fetch([probe], [self.binding.columns[self.binding.key_item]])
        except SourceUnavailable as exc:
            latency = (time.perf_counter() - started) * 1000
            return Health(ok=False, latency_ms=latency, detail=f"{exc.reason}: {exc}")
        return Health(ok=True, latency_ms=(time.perf_counter() - started) * 1000)

    async def describe(self) -> list[SourceColumn]:
        """List the fields of the record the API returns for ``sample_key``."""
        if self.config.sample_key is None:
            raise BindingInvalid(
                "describe needs a sample key to fetch one record",
                [{"field": "config.sample_key", "message": "set a key the API has a record for"}],
            )
        rows = await self._fetch([self.config.sample_key], None)
        first = next((r for r in rows if isinstance(r, dict)), None)
        if first is None:
            raise BindingInvalid(
                "the API returned no record for the sample key",
                [{"field": "config.sample_key", "message": "no record for this key"}],
            )
        return [SourceColumn(str(k), _json_type(v), v is None) for k, v in first.items()]

    async def close(self) -> None:
        """Close the pooled client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def _path_mode(self) -> bool:
        return KEY_PLACEHOLDER in self.config.url

    def _project(
        self, rows: list[Any], asked: set[str], projection: dict[str, str]
    ) -> list[Record]:
        key_field = projection[self.binding.key_item]
        records: list[Record] = []
        seen: set[str] = set()
        for row in rows:
            if not isinstance(row, dict):
                raise self._down("bad_response", "a record is not a JSON object", False)
            key = row.get(key_field)
            if key is None or str(key) not in asked or str(key) in seen:
                continue  # a record nobody asked for never leaves the adapter
            seen.add(str(key))
            records.append({item: self._value(row, column) for item, column in projection.items()})
        return records

    def _value(self, row: dict[str, Any], column: str) -> Any:
        value = row.get(column)
        kind = self.config.field_types.get(column)
        if value is None or kind is None:
            return value
        try:
            return READERS[kind](value)
        except (TypeError, ValueError, ArithmeticError):
            raise self._down(
                "bad_response", f"field {column} is not a valid {kind}", False
            ) from None

    async def _fan_out(self, batches: list[list[str]], fields: list[str]) -> list[Any]:
        gate = asyncio.Semaphore(self.config.max_parallel_requests)

        async def one(batch: list[str]) -> list[Any]:
            async with gate:
                return await self._fetch(batch, fields)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(b)) for b in batches]
        except ExceptionGroup as eg:
            raise eg.exceptions[0] from None
        return [row for task in tasks for row in task.result()]

    def _request(self, keys: list[str], fields: list[str] | None) -> httpx.Request:
        cfg = self.config
        headers = {"Accept": "application/json"}
        if cfg.auth_header and cfg.auth_value:
            headers[cfg.auth_header] = cfg.auth_value.get_secret_value()
        projection: dict[str, list[str]] = {}
        if cfg.fields_param and fields is not None:
            projection[cfg.fields_param] = fields
        if self._path_mode:
            encoded = quote(keys[0], safe="").replace(".", "%2E")
            url = httpx.URL(cfg.url.replace(KEY_PLACEHOLDER, encoded))
            return self._http.build_request(
                "GET", url.copy_merge_params(projection), headers=headers
            )
        if cfg.method == "GET":
            query = {cfg.key_param: keys, **projection}
            url = httpx.URL(cfg.url).copy_merge_params(query)
            return self._http.build_request("GET", url, headers=headers)
        body = {cfg.key_param: keys, **projection}
        return self._http.build_request("POST", cfg.url, json=body, headers=headers)

    async def _fetch(self, keys: list[str], fields: list[str] | None) -> list[Any]:
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                return await self._exchange(self._request(keys, fields))
        except TimeoutError:
            raise self._down("timeout", "no answer in time") from None
        except httpx.TimeoutException:
            raise self._down("timeout", "no answer in time") from None
        except httpx.TransportError as exc:
            raise self._down("unreachable", f"connection failed ({type(exc).__name__})") from None

    async def _exchange(self, request: httpx.Request) -> list[Any]:
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            for _ in range(_MAX_REDIRECTS):
                nxt = response.next_request
                if nxt is None:
                    break
                await response.aclose()
                if not host_allowed(nxt.url, self.config._allowlist):
                    raise self._down(
                        "error", f"redirect to {nxt.url.host} (off the allowlist) refused", False
                    )
                if _origin(nxt.url) != self._origin and self.config.auth_header:
                    nxt.headers.pop(self.config.auth_header, None)
                response = await self._http.send(nxt, stream=True, follow_redirects=False)
            return await self._records(response)
        finally:
            await response.aclose()

    async def _records(self, response: httpx.Response) -> list[Any]:
        status = response.status_code
        cfg = self.config
        if status in cfg.not_found_statuses:
            return []
        if status in cfg.transient_statuses:
            reason = "rate_limited" if status == 429 else "unreachable"
            after = _retry_after(response.headers.get("retry-after"))
            raise SourceUnavailable(
                reason, f"{self!r}: HTTP {status}", transient=True, retry_after=after
            )
        if not 200 <= status < 300:
            raise self._down("error", f"HTTP {status}", False)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cfg.max_response_bytes:
            raise self._too_big()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cfg.max_response_bytes:
                raise self._too_big()
        try:
            document = json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise self._down("bad_response", "the body is not JSON", False) from None
        return self._at_path(document)

    def _at_path(self, document: Any) -> list[Any]:
        node = document
        for part in filter(None, self.config.records_path.split(".")):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and self.config.records_path:
            return []  # the envelope says "no records" by leaving the list out
        if isinstance(node, dict):
            return [node]  # a one-key-per-call API answers with the record itself
        if not isinstance(node, list):
            where = self.config.records_path or "the top level"
            raise self._down("bad_response", f"no list of records at {where}", False)
        return node

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limit = self.config.max_parallel_requests
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout_seconds),
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                # Proxies from the environment would bypass the allowlist's intent.
                trust_env=False,
            )
        return self._client

    def _down(self, reason: str, what: str, transient: bool = True) -> SourceUnavailable:
        return SourceUnavailable(reason, f"{self!r}: {what}", transient=transient)

    def _too_big(self) -> SourceUnavailable:
        limit = self.config.max_response_bytes
        return self._down("bad_response", f"response larger than {limit} bytes", False)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "null"
