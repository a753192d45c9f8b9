"""The HTTP adapter's config and the allowlist that keeps a catalogue edit from becoming SSRF.

The allowlist holds ``host:port`` patterns: an exact host (IDNA, case-insensitive; IPv6 in
brackets) or ``*.example.org`` for its subdomains, and a port or ``*``. The hub passes its
``connector_http_allowlist`` setting in the validation context ``{"http_allowlist": [...]}``;
without a context the process-wide list set by ``configure_http_allowlist`` applies, and
it starts empty: nothing is allowed until the hub says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import Field, PrivateAttr, SecretStr, ValidationInfo, field_validator, model_validator

from connectors.base import ConnectorConfig

KEY_PLACEHOLDER = "{key}"
FieldType = Literal["string", "integer", "decimal", "date", "datetime", "boolean"]
_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
_MARK = "datarun-key"
_allowlist: tuple[str, ...] = ()


def configure_http_allowlist(patterns: Iterable[str]) -> None:
    """Set the process-wide allowlist of ``host:port`` patterns (the hub's settings)."""
    global _allowlist
    _allowlist = tuple(patterns)


def host_allowed(url: httpx.URL, patterns: Iterable[str]) -> bool:
    """Tell whether ``url``'s host and port match one ``host:port`` pattern."""
    host = url.raw_host.decode("ascii").lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    for pattern in patterns:
        want_host, _, want_port = pattern.strip().lower().rpartition(":")
        want_host = want_host.strip("[]")
        if want_port != "*" and want_port != str(port):
            continue
        if want_host == host or (want_host.startswith("*.") and host.endswith(want_host[1:])):
            return True
    return False


class HttpConfig(ConnectorConfig):
    """Where the department API is and how it speaks; see ``connectors.adapters.http``."""

    url: str = Field(max_length=2048)
    method: Literal["POST", "GET"] = "POST"
    key_param: str = Field(default="keys", pattern=_NAME)
    fields_param: str | None = Field(default=None, pattern=_NAME)
    records_path: str = Field(default="", max_length=256)
    auth_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    auth_value: SecretStr | None = Field(default=None, validate_default=True)
    max_keys_per_request: int = Field(default=100, ge=1, le=1000, validate_default=True)
    max_parallel_requests: int = Field(default=4, ge=1, le=32)
    not_found_statuses: list[int] = Field(default_factory=lambda: [404])
    transient_statuses: list[int] = Field(default_factory=lambda: [429, 502, 503, 504])
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    max_response_bytes: int = Field(default=4 * 1_048_576, ge=1024, le=256 * 1_048_576)
    sample_key: str | None = Field(default=None, max_length=256)
    # JSON has no date or decimal: how to read these source fields (JSON numbers with a
    # fraction are read as Decimal anyway, exactly as the department wrote them).
    field_types: dict[str, FieldType] = Field(default_factory=dict)
    # The allowlist the URL was validated against; redirects are checked against it too.
    _allowlist: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("url")
    @classmethod
    def _url_allowed(cls, raw: str, info: ValidationInfo) -> str:
        try:
            url = httpx.URL(raw.replace(KEY_PLACEHOLDER, _MARK))
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http:// or https:// URL")
        if url.userinfo or url.fragment:
            raise ValueError("must not carry credentials or a fragment")
        if KEY_PLACEHOLDER in raw and _MARK not in url.path:
            raise ValueError("a {key} placeholder may only stand in the path")
        if not host_allowed(url, _context_allowlist(info)):
            raise ValueError(
                f"host {url.host}:{url.port or url.scheme} is not on the hub's HTTP "
                "connector allowlist (DATARUN_CONNECTOR_HTTP_ALLOWLIST)"
            )
        return raw

    @field_validator("fields_param")
    @classmethod
    def _distinct_params(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("key_param"):
            raise ValueError("must differ from key_param")
        return value

    @field_validator("auth_value")
    @classmethod
    def _auth_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "auth_header" not in info.data:
            return value  # auth_header itself was refused; one error is enough
        if (value is None) != (info.data["auth_header"] is None):
            raise ValueError("auth_header and auth_value go together")
        return value

    @field_validator("max_keys_per_request")
    @classmethod
    def _one_key_in_path(cls, value: int, info: ValidationInfo) -> int:
        if KEY_PLACEHOLDER in info.data.get("url", "") and value != 1:
            raise ValueError("must be 1 when the url has a {key} placeholder")
        return value

    @model_validator(mode="after")
    def _keep_allowlist(self, info: ValidationInfo) -> HttpConfig:
        self._allowlist = _context_allowlist(info)
        return self


def _context_allowlist(info: ValidationInfo) -> tuple[str, ...]:
    context = info.context if isinstance(info.context, dict) else {}
    return tuple(context.get("http_allowlist", _allowlist))


def _read_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "是"):
        return True
    if text in ("false", "0", "no", "否"):
        return False
    raise ValueError(text)


def _read_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, Decimal) and value != value.to_integral()):
        raise ValueError(value)
    return int(value)


READERS: dict[str, Callable[[Any], Any]] = {
    "string": str,
    "integer": _read_int,
    "decimal": lambda v: Decimal(str(v)),
    "date": lambda v: date.fromisoformat(str(v)),
    "datetime": lambda v: datetime.fromisoformat(str(v)),
    "boolean": _read_bool,
}
