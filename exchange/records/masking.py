"""The masking table: how a value is shown under a grant for masked data (脱敏).

A grant for masked data (``masked``) shows items of sensitivity 1 (公开) in clear and masks
every item of sensitivity 2 (内部) and above; a grant in clear shows every granted item as it
is. How a value is masked depends on what it is, judged from the item's code, name and
data type (``mask_kind``):

| kind        | example in                     | shown as                     |
| ----------- | ------------------------------ | ---------------------------- |
| resident_id | 330102199003071234             | 330102********1234           |
| phone       | 13812345678                    | 138****5678                  |
| person_name | 张三 / 欧阳娜娜 / 陈建国、沈丽华 | 张* / 欧*** / 陈**、沈**      |
| address     | 浙江省杭州市西湖区文三路138号…  | 浙江省杭州市西湖区****        |
| date        | 1978-03-15                     | 1978-**-**                   |
| datetime    | 2026-10-08T08:31:00            | 2026-**-**T**:**:**          |
| number      | 3280000.00 / 42                | ***                          |
| boolean     | true                           | *                            |
| binary      | (a photo)                      | null (withheld)              |
| text        | 6222021234567890123 / 已婚      | 6222***********0123 / 已*    |

A masked value is always a string (or null), so a consumer can tell it from a real one; the
response lists the masked items. Masking runs on JSON-native values (``rules.json_value``).
"""

from __future__ import annotations

import re
from typing import Any

from exchange.records.rules import is_resident_id_item

# Separators between several names or numbers held in one value (出卖人: 陈建国、沈丽华).
_SEPARATORS = re.compile(r"([、,，;；/\s]+)")
_ADDRESS_UNITS = "省市区县旗州盟"
_ADDRESS_HEAD = 12  # administrative units are looked for in the first characters only
_NAME_WORDS = ("姓名", "曾用名")
_ADDRESS_WORDS = ("地址", "住址", "坐落", "住所", "地点", "出生地")
_PHONE_WORDS = ("电话", "手机", "联系方式")
_PHONE_CODES = ("phone", "mobile", "telephone")


def should_mask(sensitivity: int, grant_masked: bool) -> bool:
    """Return whether an item is masked: a masked grant and sensitivity 内部 (2) or above."""
    return grant_masked and sensitivity >= 2


def mask_kind(code: str, name: str, data_type: str) -> str:
    """Return which masking rule applies to an item."""
    if data_type in ("B", "G"):
        return "binary"
    if data_type == "L":
        return "boolean"
    if data_type == "D":
        return "date"
    if data_type == "T":
        return "datetime"
    if data_type in ("N", "Y", "I", "F"):
        return "number"
    if is_resident_id_item(code, name) or code.endswith("_id_numbers"):
        return "resident_id"
    if any(w in name for w in _PHONE_WORDS) or any(c in code for c in _PHONE_CODES):
        return "phone"
    if any(w in name for w in _ADDRESS_WORDS):
        return "address"
    if any(w in name for w in _NAME_WORDS) or name.endswith("人"):
        return "person_name"
    return "text"


def mask_resident_id(value: str) -> str:
    """Keep the region (6) and the last 4 characters: 330102********1234."""
    if len(value) < 11:
        return mask_text(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 characters: 138****5678."""
    if len(value) < 8:
        return mask_text(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_person_name(value: str) -> str:
    """Keep the first character (the surname, mostly): 张*, 欧***."""
    return value[:1] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_address(value: str) -> str:
    """Keep the administrative divisions (省/市/区/县) at the start; hide the rest."""
    head = value[:_ADDRESS_HEAD]
    cut = max((head.rfind(u) for u in _ADDRESS_UNITS), default=-1)
    keep = cut + 1 if cut >= 1 else len(value) // 3
    return value[:keep] + "****"


def mask_date(value: str) -> str:
    """Keep the year: 1978-**-**."""
    return value[:4] + "-**-**" if len(value) >= 4 else "*"


def mask_datetime(value: str) -> str:
    """Keep the year: 2026-**-**T**:**:**."""
    return value[:4] + "-**-**T**:**:**" if len(value) >= 4 else "*"


def mask_text(value: str) -> str:
    """Keep a quarter at each end of a long value, the first character of a short one."""
    n = len(value)
    if n <= 1:
        return "*" * n
    if n <= 6:
        return value[0] + "*" * (n - 1)
    edge = n // 4
    return value[:edge] + "*" * (n - 2 * edge) + value[-edge:]


def _each(value: str, mask: Any) -> str:
    # Several names or numbers in one value: mask each, keep the separators.
    parts = _SEPARATORS.split(value)
    return "".join(p if i % 2 else (mask(p) if p else p) for i, p in enumerate(parts))


def mask_value(value: Any, kind: str) -> Any:
    """Return ``value`` (JSON-native) masked by the rule of ``kind``; None stays None."""
    if value is None:
        return None
    if kind == "binary":
        return None
    if kind == "boolean":
        return "*"
    if kind == "number":
        return "***"
    text = value if isinstance(value, str) else str(value)
    if kind == "date":
        return mask_date(text)
    if kind == "datetime":
        return mask_datetime(text)
    if kind == "resident_id":
        return _each(text, mask_resident_id)
    if kind == "phone":
        return _each(text, mask_phone)
    if kind == "person_name":
        return _each(text, mask_person_name)
    if kind == "address":
        return mask_address(text)
    return mask_text(text)
