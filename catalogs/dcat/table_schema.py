"""A resource's data items (信息项) as a Frictionless Table Schema (pure: no session).

https://specs.frictionlessdata.io/table-schema/ — each item is a field named by its item
code; ``sensitivity`` (1 公开 .. 4 高度敏感) and the guide's ``dataType`` code are kept as
custom field properties; the lookup-key items form the primary key.
"""

from __future__ import annotations

from typing import Any

from catalogs.dcat import rules
from catalogs.resources.models import Resource, ResourceItem

SPEC = "https://specs.frictionlessdata.io/table-schema/"


def build_field(item: ResourceItem) -> dict[str, Any]:
    """Return the Table Schema field descriptor of one data item."""
    field_type, field_format, type_label = rules.field_type(item.data_type)
    field: dict[str, Any] = {"name": item.code, "title": item.name, "type": field_type}
    if field_format:
        field["format"] = field_format
    notes = [item.description] if item.description else []
    if item.data_type == "B":
        notes.append("二进制内容以 base64 编码传输。")
    if notes:
        field["description"] = " ".join(notes)
    if item.is_key:
        field["constraints"] = {"required": True}
    field["dataType"] = item.data_type
    field["dataTypeLabel"] = type_label
    field["sensitivity"] = item.sensitivity
    field["sensitivityLabel"] = rules.SENSITIVITY_LABELS.get(item.sensitivity, "")
    return field


def build_table_schema(resource: Resource) -> dict[str, Any]:
    """Return the Table Schema of ``resource``: its fields and primary key."""
    schema: dict[str, Any] = {
        "title": resource.name,
        "resource": resource.code,
        "version": resource.version,
        "fields": [build_field(item) for item in resource.items],
        "missingValues": [""],
    }
    keys = [item.code for item in resource.items if item.is_key]
    if keys:
        schema["primaryKey"] = keys
    return schema
