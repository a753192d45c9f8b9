"""Pure catalogue rules: 资源代码 format, version bumps, lifecycle and sharing attributes.

Nothing here touches a session, so every rule is tested without a database.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogs.resources.models import Resource

# 分类码 = 类 (1 基础 / 2 主题 / 3 部门) + 项 (2 digits) + optional 目 and 细目 (3 digits each);
# 顺序码 = 6 digits.
RESOURCE_CODE_RE = re.compile(r"^[1-3]\d{2}(?:\d{3}){0,2}/\d{6}$")
ITEM_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

STATUSES = ("draft", "published", "deprecated", "retired")
# Who can see an entry without owning it: the published catalogue, deprecated entries included.
PUBLIC_STATUSES = ("published", "deprecated")
LIFECYCLE: dict[str, frozenset[str]] = {
    "draft": frozenset({"published"}),
    "published": frozenset({"deprecated"}),
    "deprecated": frozenset({"published", "retired"}),  # deprecated → published = reinstated
    "retired": frozenset(),
}

# Snapshot fields in the order of the Resource JSON form.
SNAPSHOT_FIELDS = (
    "code",
    "name",
    "provider",
    "summary",
    "format",
    "items",
    "share_type",
    "share_condition",
    "share_method",
    "legal_basis",
    "open_type",
    "update_cycle",
    "published_on",
    "related_codes",
)
ITEM_FIELDS = ("code", "name", "data_type", "sensitivity", "is_key", "description")


def validate_code(code: str) -> str | None:
    """Return why ``code`` is not a valid 资源代码, or None if it is."""
    if not isinstance(code, str) or not RESOURCE_CODE_RE.match(code):
        return (
            "must be {分类码}/{顺序码}: class 1-3, 2-digit 项, optional 3-digit 目 and 细目, "
            "then '/' and a 6-digit sequence number, e.g. 301001001/000001"
        )
    return None


def category_code(code: str) -> str:
    """Return the 分类码 of a 资源代码 (the part before '/')."""
    return code.split("/", 1)[0]


def check_transition(old: str, new: str) -> str | None:
    """Return why a resource may not move from status ``old`` to ``new``, or None if it may."""
    if new not in LIFECYCLE:
        return f"unknown status {new!r}; expected one of {', '.join(STATUSES)}"
    if new in LIFECYCLE.get(old, frozenset()):
        return None
    allowed = sorted(LIFECYCLE.get(old, frozenset()))
    hint = f"from {old} only to {', '.join(allowed)}" if allowed else f"{old} is final"
    return f"cannot move from {old} to {new}: {hint}"


def share_problems(
    share_type: str, share_condition: str | None, legal_basis: str | None
) -> list[dict[str, str]]:
    """Return field errors for the sharing attributes (共享属性); empty when they are consistent."""
    problems: list[dict[str, str]] = []
    if share_type in ("conditional", "none") and not (legal_basis or "").strip():
        kind = "有条件共享" if share_type == "conditional" else "不予共享"
        problems.append(
            {"field": "legal_basis", "message": f"a legal basis is required for {kind}"}
        )
    if share_type == "conditional" and not (share_condition or "").strip():
        problems.append(
            {"field": "share_condition", "message": "a share condition is required for 有条件共享"}
        )
    return problems


def snapshot(resource: Resource) -> dict[str, Any]:
    """Return the resource in its Resource JSON form (JSON-ready: dates as ISO strings)."""
    return {
        "code": resource.code,
        "name": resource.name,
        "provider": resource.provider.code,
        "summary": resource.summary,
        "format": resource.format,
        "items": [
            {field: getattr(item, field) for field in ITEM_FIELDS} for item in resource.items
        ],
        "share_type": resource.share_type,
        "share_condition": resource.share_condition,
        "share_method": resource.share_method,
        "legal_basis": resource.legal_basis,
        "open_type": resource.open_type,
        "update_cycle": resource.update_cycle,
        "published_on": resource.published_on.isoformat() if resource.published_on else None,
        "related_codes": list(resource.related_codes or []),
    }


def search_text(snap: dict[str, Any], provider_name: str) -> str:
    """Return the lower-cased text a search matches: code, name, summary, items, provider."""
    parts = [snap["code"], snap["name"], snap.get("summary") or "", provider_name]
    for item in snap["items"]:
        parts += [item["code"], item["name"]]
    return "\n".join(parts).lower()


def change(op: str, field: str, old: Any, new: Any, **extra: Any) -> dict[str, Any]:
    """Return one entry of a version's change list."""
    return {"op": op, "field": field, "from": old, "to": new, **extra}


def next_version(
    old: dict[str, Any], new: dict[str, Any], version: tuple[int, int]
) -> tuple[str | None, tuple[int, int], list[dict[str, Any]]]:
    """Compare two snapshots; return (kind, new version, changes).

    Adding an item is a minor change; removing an item or changing its data type is a
    major change (consumers' grants and mappings may break); any other metadata change
    is minor. ``kind`` is "major", "minor", or None when nothing changed.
    """
    changes = _item_changes(old.get("items", []), new.get("items", []))
    for field in SNAPSHOT_FIELDS:
        if field != "items" and old.get(field) != new.get(field):
            changes.append(change("set", field, old.get(field), new.get(field)))
    major, minor = version
    if not changes:
        return None, (major, minor), []
    if any(c["op"] in ("remove_item", "retype_item") for c in changes):
        return "major", (major + 1, 0), changes
    return "minor", (major, minor + 1), changes


def _item_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    before = {item["code"]: item for item in old}
    after = {item["code"]: item for item in new}
    changes: list[dict[str, Any]] = []
    for code, item in after.items():
        if code not in before:
            changes.append(change("add_item", f"items.{code}", None, item, item=code))
    for code, item in before.items():
        if code not in after:
            changes.append(change("remove_item", f"items.{code}", item, None, item=code))
            continue
        for field in ITEM_FIELDS[1:]:
            if item.get(field) != after[code].get(field):
                op = "retype_item" if field == "data_type" else "change_item"
                was, now = item.get(field), after[code].get(field)
                changes.append(change(op, f"items.{code}.{field}", was, now, item=code))
    kept_before = [code for code in before if code in after]
    kept_after = [code for code in after if code in before]
    if kept_before != kept_after:
        changes.append(change("set", "items.order", kept_before, kept_after))
    return changes
