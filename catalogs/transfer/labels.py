"""Chinese labels of the catalogue's codes, as 《政务信息资源目录编制指南》 sheets write them.

Every table maps our code to the label export writes; ``ALIASES`` adds other spellings that
import accepts (administrators' sheets are not uniform). Import also accepts the codes.
"""

from __future__ import annotations

import unicodedata
from typing import Any

FORMAT = {
    "electronic_file": "电子文件",
    "spreadsheet": "电子表格",
    "database": "数据库",
    "image": "图形图像",
    "streaming": "流媒体",
    "self_describing": "自描述格式",
    "service_interface": "服务接口",
}
SHARE_TYPE = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
SHARE_METHOD = {"api": "接口", "file": "文件", "database": "库表"}
OPEN_TYPE = {"open": "无条件开放", "conditional": "有条件开放", "closed": "不予开放"}
UPDATE_CYCLE = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "yearly": "每年",
}
DATA_TYPE = {
    "C": "字符型",
    "N": "数值型",
    "Y": "货币型",
    "D": "日期型",
    "T": "日期时间型",
    "L": "逻辑型",
    "M": "备注型",
    "G": "通用型",
    "B": "二进制型",
    "I": "整型",
    "F": "浮点型",
}
SENSITIVITY = {1: "公开", 2: "内部", 3: "敏感", 4: "高度敏感"}
IS_KEY = {True: "是", False: "否"}
STATUS = {"draft": "草稿", "published": "已发布", "deprecated": "已弃用", "retired": "已下线"}

TABLES: dict[str, dict[Any, str]] = {
    "format": FORMAT,
    "share_type": SHARE_TYPE,
    "share_method": SHARE_METHOD,
    "open_type": OPEN_TYPE,
    "update_cycle": UPDATE_CYCLE,
    "data_type": DATA_TYPE,
    "sensitivity": SENSITIVITY,
    "is_key": IS_KEY,
    "status": STATUS,
}

# Other spellings seen in departments' sheets; the guide's 双精度型 is its name for type B.
ALIASES: dict[str, dict[str, Any]] = {
    "format": {"表格": "spreadsheet", "接口": "service_interface", "api": "service_interface"},
    "share_type": {
        "无条件": "unconditional",
        "有条件": "conditional",
        "不予": "none",
        "不共享": "none",
    },
    "share_method": {"api": "api", "服务接口": "api", "数据接口": "api", "数据库": "database"},
    "open_type": {
        "开放": "open",
        "无条件": "open",
        "有条件": "conditional",
        "不开放": "closed",
        "不予": "closed",
    },
    "update_cycle": {"每天": "daily", "每季": "quarterly", "每年度": "yearly", "每月度": "monthly"},
    "data_type": {
        "字符": "C",
        "数值": "N",
        "货币": "Y",
        "日期": "D",
        "日期时间": "T",
        "逻辑": "L",
        "备注": "M",
        "通用": "G",
        "二进制": "B",
        "双精度型": "B",
        "整数": "I",
        "整数型": "I",
        "浮点": "F",
    },
    "sensitivity": {"1": 1, "2": 2, "3": 3, "4": 4},
    "is_key": {
        "y": True,
        "yes": True,
        "true": True,
        "1": True,
        "n": False,
        "no": False,
        "false": False,
        "0": False,
    },
}


def _norm(cell: str) -> str:
    # NFKC folds full-width letters and digits (Ｃ, １) that Chinese input methods produce.
    return unicodedata.normalize("NFKC", cell).strip().casefold()


def _lookup() -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for field, table in TABLES.items():
        entries: dict[str, Any] = {}
        for code, label in table.items():
            entries[_norm(label)] = code
            if isinstance(code, str):
                entries[_norm(code)] = code
        for alias, code in ALIASES.get(field, {}).items():
            entries.setdefault(_norm(alias), code)
        index[field] = entries
    return index


_LOOKUP = _lookup()


def from_cell(field: str, cell: str) -> Any:
    """Return our code for a cell holding a code or a Chinese label; raise ValueError if unknown."""
    found = _LOOKUP[field].get(_norm(cell), _MISSING)
    if found is _MISSING:
        choices = "/".join(TABLES[field].values())
        raise ValueError(f"unknown value {cell.strip()!r}; use one of {choices}")
    return found


def to_label(field: str, code: Any) -> str:
    """Return the Chinese label export writes for ``code`` (the code itself if it has none)."""
    label = TABLES[field].get(code)
    return label if label is not None else str(code)


_MISSING = object()
