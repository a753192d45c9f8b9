"""Pure rules of connector bindings: secrets apart from config, mapping checks, file roots."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

MASK = "**********"  # what the API shows (and accepts back) in place of a stored secret

SecretEntry = tuple[tuple[str, ...], Any]  # (path of keys in the config, plain value)


def split_secrets(config: BaseModel) -> tuple[dict[str, Any], list[SecretEntry]]:
    """Return the config as JSON with every secret masked, and the secrets with their paths.

    A secret inside a list takes the whole list with it (lists cannot be merged by key).
    """
    plain = config.model_dump(mode="json")
    secrets: list[SecretEntry] = []

    def walk(python: Any, shown: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in python.items():
            here = (*path, key)
            if isinstance(value, SecretStr):
                secrets.append((here, value.get_secret_value()))
                shown[key] = MASK
            elif isinstance(value, dict) and isinstance(shown.get(key), dict):
                walk(value, shown[key], here)
            elif isinstance(value, list | tuple) and _holds_secret(value):
                secrets.append((here, _reveal(value)))
                shown[key] = MASK

    walk(config.model_dump(), plain, ())
    return plain, secrets


def merge_secrets(shown: Mapping[str, Any], secrets: Iterable[SecretEntry]) -> dict[str, Any]:
    """Return ``shown`` with each secret put back at its path."""
    merged = _deep_copy(shown)
    for path, value in secrets:
        target = merged
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return merged


def masked_paths(raw: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """List the paths in ``raw`` whose value is the mask (a secret the caller wants kept)."""
    found: list[tuple[str, ...]] = []
    for key, value in raw.items():
        if value == MASK:
            found.append((*path, key))
        elif isinstance(value, dict):
            found += masked_paths(value, (*path, key))
    return found


def mapping_problems(
    item_codes: Sequence[str], key_item: str, columns: Mapping[str, str]
) -> list[dict[str, str]]:
    """Check the item → column mapping against the resource's items; list the problems."""
    known = set(item_codes)
    problems = [
        {"field": f"columns.{item}", "message": f"the resource has no item {item!r}"}
        for item in columns
        if item not in known
    ]
    if key_item not in known:
        problems.append({"field": "key_item", "message": f"the resource has no item {key_item!r}"})
    elif key_item not in columns:
        problems.append(
            {"field": "key_item", "message": f"the key item {key_item!r} must be mapped in columns"}
        )
    return problems


def missing_column_problems(
    columns: Mapping[str, str], source_columns: Iterable[str]
) -> list[dict[str, str]]:
    """List the mapped columns the source does not have, one problem per item."""
    offered = set(source_columns)
    return [
        {"field": f"columns.{item}", "message": f"the source has no column {column!r}"}
        for item, column in columns.items()
        if column not in offered
    ]


def outside_roots(paths: Iterable[str], roots: Sequence[Path]) -> list[str]:
    """Return the paths (files or globs) that do not lie under one of ``roots``."""
    real_roots = [os.path.realpath(r) for r in roots]
    outside = []
    for path in paths:
        real = os.path.realpath(_fixed_prefix(path))
        if not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in real_roots):
            outside.append(path)
    return outside


def _fixed_prefix(path: str) -> str:
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return str(Path(*parts[:i]))
    return path


def _holds_secret(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret(v) for v in value)
    return False


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(v) for v in value]
    return value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
