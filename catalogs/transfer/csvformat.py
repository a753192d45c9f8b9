"""The catalogue as a spreadsheet: one row per 信息项, the resource's columns repeated on each.

Line numbers are spreadsheet row numbers (the header is line 1), so an administrator finds
the row Excel shows, even when a quoted cell spans several physical lines. On a resource's
later rows a blank resource cell means "same as above" (merged cells export as blanks); a
row whose resource cells are all blank, 资源代码 included, continues the resource above.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalogs.transfer import labels
from catalogs.transfer.source import Entry, ErrorList, Location

BOM = "\ufeff"
RELATED_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    """One spreadsheet column: its header, the JSON field it holds, and how to read it."""

    header: str
    field: str
    item: bool = False  # a 信息项 column rather than a resource column
    required: bool = False  # the header must be present
    coded: bool = False  # cells hold a code or its Chinese label (see labels.py)
    importable: bool = True  # False: written by export, ignored by import


COLUMNS = [
    Column("资源代码", "code", required=True),
    Column("资源名称", "name", required=True),
    Column("提供方代码", "provider", required=True),
    Column("提供方名称", "provider_name", importable=False),
    Column("资源摘要", "summary", required=True),
    Column("资源格式", "format", required=True, coded=True),
    Column("共享类型", "share_type", required=True, coded=True),
    Column("共享条件", "share_condition"),
    Column("共享方式", "share_method", required=True, coded=True),
    Column("共享依据", "legal_basis"),
    Column("开放属性", "open_type", required=True, coded=True),
    Column("更新周期", "update_cycle", required=True, coded=True),
    Column("发布日期", "published_on"),
    Column("关联资源代码", "related_codes"),
    Column("状态", "status", coded=True),
    Column("信息项代码", "code", item=True, required=True),
    Column("信息项名称", "name", item=True, required=True),
    Column("数据类型", "data_type", item=True, required=True, coded=True),
    Column("敏感级别", "sensitivity", item=True, coded=True),
    Column("是否查询键", "is_key", item=True, coded=True),
    Column("信息项说明", "description", item=True),
]
HEADERS = [c.header for c in COLUMNS]
RESOURCE_COLUMNS = [c for c in COLUMNS if not c.item]
ITEM_COLUMNS = [c for c in COLUMNS if c.item]
RESOURCE_HEADER = {c.field: c.header for c in RESOURCE_COLUMNS}
ITEM_HEADER = {c.field: c.header for c in ITEM_COLUMNS}
COLUMN_ORDER = {h: i for i, h in enumerate(HEADERS)}

# Excel runs a cell starting with one of these as a formula (CSV injection); export
# prefixes an apostrophe, import removes it again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# 2026-01-15, 2026/1/15, 2026.1.15, 2026年1月15日; Excel may append a midnight time.
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0?0:00(?::00)?)?$"
)


def decode(content: bytes) -> str:
    """Decode a sheet: UTF-8 (BOM or not), else GB18030, which Excel on Chinese Windows saves."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ValueError("the file is neither UTF-8 nor GB18030 text") from exc
    return text.removeprefix(BOM)


def _clean(cell: str) -> str:
    cell = cell.strip()
    if cell.startswith("'") and cell[1:2] in _FORMULA_START and len(cell) > 1:
        return cell[1:]
    return cell


def _convert(column: Column, cell: str) -> Any:
    """Turn one non-empty cell into its JSON value; raise ValueError with a reason."""
    if column.coded:
        return labels.from_cell(column.field, cell)
    if column.field == "related_codes":
        return [c.strip() for c in re.split(r"[;；,，\s]+", cell) if c.strip()]
    if column.field == "published_on":
        match = _DATE.match(cell)
        if match:
            try:
                return date(*(int(g) for g in match.groups())).isoformat()
            except ValueError as exc:
                raise ValueError(f"{cell!r} is not a calendar date") from exc
        return cell  # leave it to the schema, whose message names the expected form
    return cell


@dataclass
class _Group:
    entry: Entry
    seen: dict[str, tuple[Any, int]]  # resource field → (value, line it came from)


def parse(content: bytes, *, errors: ErrorList, max_rows: int) -> list[Entry]:
    """Parse a catalogue sheet into entries (Resource JSON + where each value came from)."""
    try:
        text = decode(content)
    except ValueError as exc:
        errors.add(line=1, field="file", message=str(exc))
        return []
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows or not any(c.strip() for c in rows[0]):
        errors.add(
            line=1, field="file", message="the file is empty; the first row must be the header"
        )
        return []
    if len(rows) - 1 > max_rows:
        errors.too_many(f"the sheet has {len(rows) - 1} rows; at most {max_rows} may be imported")
        return []
    columns = _header(rows[0], errors)
    if columns is None:
        return []
    groups: dict[str, _Group] = {}
    current: _Group | None = None
    for line, row in enumerate(rows[1:], start=2):
        cells = [_clean(c) for c in row]
        if not any(cells):
            continue  # blank rows are spreadsheet padding
        if any(cells[len(columns) :]):
            errors.add(
                line=line,
                field="file",
                message=f"cells beyond the header's {len(columns)} columns",
            )
            continue
        values: dict[Column, Any] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column is None or not cell or not column.importable:
                continue
            try:
                values[column] = _convert(column, cell)
            except ValueError as exc:
                errors.add(line=line, field=column.header, message=str(exc))
                values[column] = cell  # keep it, so repeated-column checks still compare
        current = _place(line, values, groups, current, errors)
        if errors.full:
            break
    return [g.entry for g in groups.values()]


def _header(row: list[str], errors: ErrorList) -> list[Column | None] | None:
    by_header = {c.header: c for c in COLUMNS}
    columns: list[Column | None] = []
    seen: set[str] = set()
    before = len(errors)
    for cell in (_clean(c) for c in row):
        if cell in seen:
            errors.add(line=1, field=cell, message="this column appears twice")
        elif cell and cell not in by_header:
            errors.add(
                line=1, field=cell, message=f"unknown column; the columns are {'、'.join(HEADERS)}"
            )
        seen.add(cell)
        columns.append(by_header.get(cell))
    for column in COLUMNS:
        if column.required and column.header not in seen:
            errors.add(line=1, field=column.header, message="required column is missing")
    return None if len(errors) > before else columns


def _place(
    line: int,
    values: dict[Column, Any],
    groups: dict[str, _Group],
    current: _Group | None,
    errors: ErrorList,
) -> _Group | None:
    """Attach one row to its resource (new, repeated, or continued) and return that group."""
    resource = {c.field: v for c, v in values.items() if not c.item}
    item = {c.field: v for c, v in values.items() if c.item}
    code = resource.get("code")
    if code is None:
        if resource:
            errors.add(
                line=line,
                field="资源代码",
                message="资源代码 is empty but other resource cells are filled",
            )
            return current
        if current is None:
            errors.add(
                line=line, field="资源代码", message="资源代码 is empty and no resource is above"
            )
            return None
        group = current
    elif code in groups:
        group = groups[code]
        _compare(line, resource, group, errors)
    else:
        data = dict(resource)
        data["items"] = []
        entry = Entry(data=data, index=len(groups), line=line, locate=locate)
        group = _Group(entry, {})
        group.seen = {f: (v, line) for f, v in resource.items()}
        groups[code] = group
    if item:
        group.entry.data["items"].append(item)
        group.entry.item_lines.append(line)
    return group


def _compare(line: int, resource: dict[str, Any], group: _Group, errors: ErrorList) -> None:
    for field, value in resource.items():
        if field not in group.seen:
            group.seen[field] = (value, line)
            group.entry.data[field] = value
            continue
        earlier, earlier_line = group.seen[field]
        if value != earlier:
            errors.add(
                line=line,
                field=RESOURCE_HEADER[field],
                message=f"differs from line {earlier_line} of the same resource "
                f"({_show(value)} here, {_show(earlier)} there)",
            )


def locate(entry: Entry, loc: tuple[Any, ...]) -> Location:
    """Map a pydantic error location within ``entry`` to its row and column header."""
    line = entry.line
    if loc[:1] == ("items",):
        if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(entry.item_lines):
            line = entry.item_lines[loc[1]]
        field = loc[2] if len(loc) > 2 else "code"
        return {"line": line, "field": ITEM_HEADER.get(str(field), str(field))}
    field = str(loc[0]) if loc else "code"
    return {"line": line, "field": RESOURCE_HEADER.get(field, field)}


def _show(value: Any) -> str:
    return RELATED_SEPARATOR.join(value) if isinstance(value, list) else repr(value)


def _cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.coded:
        text = labels.to_label(column.field, value)
    elif isinstance(value, list):
        text = RELATED_SEPARATOR.join(str(v) for v in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render(resources: list[dict[str, Any]]) -> bytes:
    """Write resources (Resource JSON, plus status and provider_name) as a UTF-8 sheet with BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for resource in resources:
        head = [_cell(c, resource.get(c.field)) for c in RESOURCE_COLUMNS]
        for item in resource.get("items") or [{}]:
            writer.writerow(head + [_cell(c, item.get(c.field)) for c in ITEM_COLUMNS])
    return (BOM + out.getvalue()).encode("utf-8")
