"""Checks a binding passes before it is saved, and its stored form (secrets encrypted).

Config valid for the adapter (pydantic, with the hub's validation context), files under the
allowed roots, a valid resilience policy, and the live source's columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError

from connectors import registry
from connectors.base import (
    Binding,
    BindingInvalid,
    ConnectorConfig,
    SourceColumn,
    SourceUnavailable,
)
from connectors.resilience import ResiliencePolicy
from exchange.bindings import rules
from exchange.bindings.errors import SourceUnreachable
from exchange.bindings.models import ConnectorBinding
from exchange.bindings.schemas import BindingWrite
from exchange.core.errors import InvalidInput
from exchange.core.settings import Settings
from exchange.identity.crypto import decrypt, encrypt

Run = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]


def connector_binding(row: ConnectorBinding, settings: Settings) -> Binding:
    """Rebuild the connector ``Binding`` of a stored row (secrets decrypted, config validated)."""
    raw = rules.merge_secrets(row.config, decrypt_secrets(settings, row.secrets_encrypted))
    try:
        config = registry.parse_config(row.adapter, raw, context=validation_context(settings))
    except ValidationError as exc:
        raise BindingInvalid(
            f"the stored config of {row.resource.code} is no longer valid", problems_of(exc)
        ) from None
    return Binding(row.resource.code, row.adapter, config, row.key_item, dict(row.columns))


def validation_context(settings: Settings) -> dict[str, Any]:
    """Return what adapters' config validators may consult (e.g. the HTTP allowlist)."""
    return {"http_allowlist": list(settings.connector_http_allowlist)}


def file_roots(settings: Settings) -> list[Any]:
    """Return the directories file-based connectors may read."""
    return list(settings.connector_file_roots) or [settings.data_dir]


def checked_config(
    data: BindingWrite, existing: ConnectorBinding | None, settings: Settings
) -> ConnectorConfig:
    """Return the adapter's validated config, stored secrets kept where the mask was sent."""
    try:
        registry.get_adapter(data.adapter)
    except registry.UnknownAdapter as exc:
        available = ", ".join(exc.known)
        message = f"no adapter {data.adapter!r}; available: {available}"
        raise InvalidInput(
            message,
            errors=[{"field": "adapter", "message": message}],
            message_key="refusal.bindings.unknown_adapter",
            message_params={"adapter": data.adapter, "available": available},
        ) from None
    raw = dict(data.config)
    masked = rules.masked_paths(raw)
    if masked:
        kept = []
        if existing is not None and existing.adapter == data.adapter:
            try:
                kept = decrypt_secrets(settings, existing.secrets_encrypted)
            except BindingInvalid as exc:
                errors = [{"field": "config", "message": str(exc)}]
                raise InvalidInput(
                    str(exc),
                    errors=errors,
                    message_key="refusal.bindings.secrets_undecryptable",
                ) from None
        stored = {path for path, _ in kept}
        unknown = [p for p in masked if p not in stored]
        if unknown:
            errors = [
                {"field": "config." + ".".join(p), "message": "no stored secret to keep: send it"}
                for p in unknown
            ]
            raise InvalidInput(
                "'**********' keeps a stored secret, and there is none",
                errors=errors,
                message_key="refusal.bindings.no_stored_secret",
            )
        raw = rules.merge_secrets(raw, [(p, v) for p, v in kept if p in masked])
    try:
        config = registry.parse_config(data.adapter, raw, context=validation_context(settings))
    except ValidationError as exc:
        problems = problems_of(exc)
        fields = ", ".join(p["field"] for p in problems)
        raise InvalidInput(
            f"invalid {data.adapter} config: {fields}",
            errors=problems,
            message_key="refusal.bindings.invalid_config",
            message_params={"adapter": data.adapter, "fields": fields},
        ) from None
    outside = rules.outside_roots(config.local_paths(), file_roots(settings))
    if outside:
        roots = ", ".join(str(r) for r in file_roots(settings))
        paths = ", ".join(outside)
        message = (
            f"reads {paths}, outside the directories connectors may read "
            f"({roots}; set DATARUN_CONNECTOR_FILE_ROOTS)"
        )
        raise InvalidInput(
            message,
            errors=[{"field": "config", "message": message}],
            message_key="refusal.bindings.outside_file_roots",
            message_params={"paths": paths, "roots": roots},
        )
    return config


def checked_resilience(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the resilience overrides after checking them against ResiliencePolicy."""
    try:
        ResiliencePolicy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            {**p, "field": "resilience" + p["field"].removeprefix("config")}
            for p in problems_of(exc)
        ]
        raise InvalidInput(
            "invalid resilience policy",
            errors=problems,
            message_key="refusal.bindings.invalid_resilience",
        ) from None
    return raw


def verify_columns(binding: Binding, settings: Settings, run: Run) -> None:
    """Check the live source has every mapped column (describe); 424 if unreachable."""

    async def describe() -> list[SourceColumn]:
        connector = registry.build(binding, max_rows=settings.connector_max_rows)
        try:
            return await connector.describe()
        finally:
            await connector.close()

    try:
        columns: list[SourceColumn] = run(describe)
    except SourceUnavailable as exc:
        raise SourceUnreachable(
            f"cannot verify the binding: the source is unavailable ({exc.reason}): {exc}; "
            "fix the source or save without verifying (?verify=false)",
            message_key="refusal.bindings.verify_source_unavailable",
            message_params={"reason": exc.reason, "error": str(exc)},
        ) from None
    except BindingInvalid as exc:
        raise InvalidInput(str(exc), errors=exc.problems or None) from None
    problems = rules.missing_column_problems(binding.columns, [c.name for c in columns])
    if problems:
        lacking = sorted({p["message"].rsplit(" ", 1)[-1].strip("'") for p in problems})
        columns_text = ", ".join(lacking)
        raise InvalidInput(
            f"the source lacks mapped columns: {columns_text}",
            errors=problems,
            message_key="refusal.bindings.missing_columns",
            message_params={"columns": columns_text},
        )


def problems_of(exc: ValidationError) -> list[dict[str, str]]:
    """Turn a pydantic error into field problems under ``config`` (inputs never echoed)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append({"field": f"config.{where}" if where else "config", "message": message})
    return problems


def encrypt_secrets(settings: Settings, secrets: list[rules.SecretEntry]) -> str | None:
    """Encrypt the secrets for storage with the hub secret (None when there are none)."""
    if not secrets:
        return None
    payload = json.dumps([[list(path), value] for path, value in secrets]).encode()
    return encrypt(settings.secret_key.get_secret_value(), payload)


def decrypt_secrets(settings: Settings, token: str | None) -> list[rules.SecretEntry]:
    """Decrypt stored secrets; BindingInvalid if the hub secret changed."""
    if not token:
        return []
    try:
        entries = json.loads(decrypt(settings.secret_key.get_secret_value(), token))
    except ValueError:
        raise BindingInvalid(
            "the binding's stored secrets cannot be decrypted with DATARUN_SECRET_KEY; "
            "set the binding again"
        ) from None
    return [(tuple(path), value) for path, value in entries]
