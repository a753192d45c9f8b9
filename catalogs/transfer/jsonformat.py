"""The catalogue as JSON, ``{"resources": [<Resource JSON>, ...]}``; errors carry JSON pointers."""

from __future__ import annotations

import json
from typing import Any

from catalogs.transfer.source import Entry, ErrorList, Location


def _field(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "resource"


def locate(entry: Entry, loc: tuple[Any, ...]) -> Location:
    """Map a pydantic error location within ``entry`` to a JSON pointer and field path."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    pointer = "/".join([f"/resources/{entry.index}", *parts])
    return {"pointer": pointer, "field": _field(loc)}


def parse(content: bytes, *, errors: ErrorList, max_rows: int) -> list[Entry]:
    """Parse a catalogue JSON document into entries."""
    try:
        document = json.loads(content.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        errors.add(line=1, field="file", message="the file is not UTF-8 text")
        return []
    except json.JSONDecodeError as exc:
        errors.add(
            line=exc.lineno, field="file", message=f"malformed JSON: {exc.msg} (column {exc.colno})"
        )
        return []
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        errors.add(pointer="", field="resources", message='expected an object {"resources": [...]}')
        return []
    for key in document:
        if key != "resources":
            errors.add(
                pointer=f"/{key}", field=key, message="unknown member; only resources is allowed"
            )
    raw = document["resources"]
    rows = sum(max(len(r.get("items") or []), 1) if isinstance(r, dict) else 1 for r in raw)
    if rows > max_rows:
        errors.too_many(f"the file has {rows} 信息项 rows; at most {max_rows} may be imported")
    entries: list[Entry] = []
    for index, element in enumerate(raw):
        if not isinstance(element, dict):
            errors.add(
                pointer=f"/resources/{index}", field="resource", message="expected an object"
            )
            continue
        entries.append(Entry(data=element, index=index, locate=locate))
    return entries


def render(resources: list[dict[str, Any]]) -> bytes:
    """Write resources as an indented UTF-8 JSON document (Chinese kept readable)."""
    document = {"resources": resources}
    return (json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
