"""The catalogue sheet format on its own: labels, encodings, line numbers, repeated columns."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from catalogs.transfer import csvformat, jsonformat, labels
from catalogs.transfer.rules import detect_format, status_path
from catalogs.transfer.source import ErrorList, TooManyRows

HEADER = [
    "资源代码", "资源名称", "提供方代码", "资源摘要", "资源格式", "共享类型", "共享条件",
    "共享方式", "共享依据", "开放属性", "更新周期", "发布日期", "关联资源代码",
    "信息项代码", "信息项名称", "数据类型", "敏感级别", "是否查询键", "信息项说明",
]  # fmt: skip

BASE: dict[str, str] = {
    "资源代码": "301001001/000001",
    "资源名称": "居民户籍信息",
    "提供方代码": "zj-gat",
    "资源摘要": "全省户籍登记信息",
    "资源格式": "数据库",
    "共享类型": "有条件共享",
    "共享条件": "仅限政务服务办理",
    "共享方式": "接口",
    "共享依据": "《中华人民共和国户口登记条例》",
    "开放属性": "不予开放",
    "更新周期": "每日",
    "发布日期": "",
    "关联资源代码": "",
    "信息项代码": "id_number",
    "信息项名称": "公民身份号码",
    "数据类型": "字符型",
    "敏感级别": "敏感",
    "是否查询键": "是",
    "信息项说明": "",
}


def row(**cells: str) -> dict[str, str]:
    """Return a sheet row: the base resource and item with ``cells`` changed."""
    return {**BASE, **cells}


def sheet(*rows: dict[str, str], header: list[str] = HEADER, bom: bool = True) -> bytes:
    """Write rows under ``header`` as Excel would save them (UTF-8, BOM by default)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def parse(
    content: bytes, max_rows: int = 1000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    errors = ErrorList()
    entries = csvformat.parse(content, errors=errors, max_rows=max_rows)
    return [e.data for e in entries], errors.items


def test_labels_and_codes_both_read_and_export_writes_labels() -> None:
    assert labels.from_cell("share_type", "不予共享") == "none"
    assert labels.from_cell("share_type", " Conditional ") == "conditional"
    assert labels.from_cell("update_cycle", "每季度") == "quarterly"
    assert labels.from_cell("format", "自描述格式") == "self_describing"
    assert labels.from_cell("share_method", "库表") == "database"
    assert labels.from_cell("open_type", "开放") == "open"
    assert labels.from_cell("data_type", "Ｃ") == "C"  # full-width, as Chinese IMEs type it
    assert labels.from_cell("data_type", "日期时间型") == "T"
    assert labels.from_cell("sensitivity", "高度敏感") == 4
    assert labels.from_cell("sensitivity", "2") == 2
    assert labels.from_cell("is_key", "否") is False
    assert labels.to_label("share_type", "unconditional") == "无条件共享"
    assert labels.to_label("is_key", True) == "是"
    with pytest.raises(ValueError, match="无条件共享/有条件共享/不予共享"):
        labels.from_cell("share_type", "随便共享")


def test_rows_of_one_resource_become_one_entry_with_its_items() -> None:
    content = sheet(
        row(),
        row(信息项代码="name", 信息项名称="姓名", 数据类型="C", 敏感级别="内部", 是否查询键="否"),
    )
    data, errors = parse(content)
    assert errors == []
    assert len(data) == 1
    assert data[0]["share_type"] == "conditional"
    assert data[0]["format"] == "database"
    assert [i["code"] for i in data[0]["items"]] == ["id_number", "name"]
    assert data[0]["items"][0] == {
        "code": "id_number",
        "name": "公民身份号码",
        "data_type": "C",
        "sensitivity": 3,
        "is_key": True,
    }


def test_without_bom_and_gb18030_sheets_read_the_same() -> None:
    with_bom, _ = parse(sheet(row()))
    without_bom, _ = parse(sheet(row(), bom=False))
    gbk_text = sheet(row(), bom=False).decode("utf-8")
    from_gbk, errors = parse(gbk_text.encode("gb18030"))
    assert errors == []
    assert with_bom == without_bom == from_gbk


def test_disagreeing_repeated_resource_column_is_reported_on_its_line() -> None:
    content = sheet(
        row(),
        row(信息项代码="name", 信息项名称="姓名"),
        row(信息项代码="sex", 信息项名称="性别", 资源名称="户籍信息（旧）", 更新周期="每周"),
    )
    _, errors = parse(content)
    assert [(e["line"], e["field"]) for e in errors] == [(4, "资源名称"), (4, "更新周期")]
    assert "line 2" in errors[0]["message"]


def test_same_value_as_label_or_code_does_not_disagree_and_blank_cells_repeat() -> None:
    blank_resource = {h: "" for h in HEADER[1:13]}
    content = sheet(
        row(),
        row(信息项代码="name", 信息项名称="姓名", 共享类型="conditional", 更新周期="daily"),
        row(信息项代码="sex", 信息项名称="性别", **blank_resource),
        {
            **{h: "" for h in HEADER[:13]},
            "信息项代码": "nation",
            "信息项名称": "民族",
            "数据类型": "C",
        },
    )
    data, errors = parse(content)
    assert errors == []
    assert [i["code"] for i in data[0]["items"]] == ["id_number", "name", "sex", "nation"]


def test_line_numbers_are_spreadsheet_rows_even_with_multiline_cells() -> None:
    summary = "第一行\n第二行\n第三行"
    content = sheet(
        row(资源摘要=summary),
        row(资源摘要=summary, 信息项代码="name", 信息项名称="姓名", 数据类型="字符串"),
    )
    _, errors = parse(content)
    assert errors == [
        {"line": 3, "field": "数据类型", "message": errors[0]["message"]},
    ]
    assert "字符型" in errors[0]["message"]


def test_header_problems_stop_before_the_rows() -> None:
    header = [h for h in HEADER if h != "数据类型"] + ["备注"]
    data, errors = parse(sheet(row(), header=header))
    assert data == []
    assert {(e["line"], e["field"]) for e in errors} == {(1, "备注"), (1, "数据类型")}


def test_row_limit_refuses_the_file() -> None:
    with pytest.raises(TooManyRows):
        parse(sheet(row(), row(信息项代码="a"), row(信息项代码="b")), max_rows=2)


def test_dates_excel_reformatted_are_read_and_related_codes_split() -> None:
    content = sheet(row(发布日期="2026/1/5", 关联资源代码="301001001/000002；301001001/000003"))
    data, errors = parse(content)
    assert errors == []
    assert data[0]["published_on"] == "2026-01-05"
    assert data[0]["related_codes"] == ["301001001/000002", "301001001/000003"]
    for cell in ("2026年1月5日", "2026-01-05 00:00:00", "2026.1.5"):
        assert parse(sheet(row(发布日期=cell)))[0][0]["published_on"] == "2026-01-05"
    _, errors = parse(sheet(row(发布日期="2026/2/30")))
    assert errors[0]["field"] == "发布日期"


def test_export_escapes_formula_cells_and_import_restores_them() -> None:
    resource: dict[str, Any] = {
        "code": "301001001/000001",
        "name": '=HYPERLINK("http://evil")',
        "provider": "zj-gat",
        "summary": '含逗号，"引号"\n和换行',
        "format": "database",
        "items": [
            {
                "code": "a",
                "name": "-负数",
                "data_type": "N",
                "sensitivity": 1,
                "is_key": False,
                "description": None,
            }
        ],
        "share_type": "unconditional",
        "share_condition": None,
        "share_method": "api",
        "legal_basis": None,
        "open_type": "open",
        "update_cycle": "yearly",
        "published_on": None,
        "related_codes": [],
        "status": "published",
    }
    content = csvformat.render([resource])
    assert content.startswith("\ufeff".encode())
    assert "'=HYPERLINK" in content.decode("utf-8")
    data, errors = parse(content)
    assert errors == []
    assert data[0]["name"] == resource["name"]
    assert data[0]["summary"] == resource["summary"]
    assert data[0]["items"][0]["name"] == "-负数"
    assert data[0]["status"] == "published"


def test_json_errors_point_into_the_document() -> None:
    errors = ErrorList()
    entries = jsonformat.parse(
        b'{"resources": [{"code": "x"}, 3], "extra": 1}', errors=errors, max_rows=9
    )
    assert [e.index for e in entries] == [0]
    assert entries[0].where(("items", 0, "data_type")) == {
        "pointer": "/resources/0/items/0/data_type",
        "field": "items[0].data_type",
    }
    assert {e["pointer"] for e in errors.items} == {"/resources/1", "/extra"}
    broken = ErrorList()
    jsonformat.parse(b'{"resources": [\n  {,}]}', errors=broken, max_rows=9)
    assert broken.items[0]["line"] == 2


def test_format_detection_and_lifecycle_paths() -> None:
    assert (
        detect_format(explicit=None, filename="目录.CSV", media_type="application/octet-stream")
        == "csv"
    )
    assert (
        detect_format(explicit=None, filename=None, media_type="application/vnd.ms-excel") == "csv"
    )
    assert (
        detect_format(explicit=None, filename=None, media_type="application/json; charset=utf-8")
        == "json"
    )
    assert detect_format(explicit=None, filename=None, media_type="text/plain") is None
    assert status_path("draft", "retired") == ["published", "deprecated", "retired"]
    assert status_path("deprecated", "published") == ["published"]
    assert status_path("published", "published") == []
    assert status_path("retired", "draft") is None
