"""Audit pages: search with filters, an entry, one subject's history, CSV, charts, verify,
export and reports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from exchange.audit.records import AuditRecord
from exchange.demo.seed import SeedResult

ALICE, BOB = "330106197803154217", "330212199011083117"
ID_CARD = "301001002/000002"


def _record(subject: str, **overrides: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "decision": "allowed",
        "outcome": 200,
        "system": "zj-zrzyt-window",
        "department": "zj-zrzyt",
        "provider": "zj-gat",
        "resource_code": ID_CARD,
        "resource_version": "1.0",
        "items_requested": ["id_number", "name"],
        "items_returned": ["id_number", "name"],
        "subject_key": subject,
        "purpose": "330000-ZR-001",
        "case_id": "ESF-2026-0001",
        "grant_ids": [1],
        "policy_version": 1,
        "record_count": 1,
        "latency_ms": 9,
    }
    values.update(overrides)
    return AuditRecord(**values)


@pytest.fixture
def logged(app: FastAPI, demo_province: SeedResult) -> list[int]:
    """Five entries appended now: three about Alice (one denied), two about Bob."""
    records = [
        _record(ALICE),
        _record(BOB),
        _record(
            ALICE,
            decision="denied",
            outcome=403,
            system="zj-mzt-backoffice",
            department="zj-mzt",
            items_returned=[],
            record_count=0,
            case_id=None,
            reason="no grant",
        ),
        _record(ALICE, case_id="ESF-2026-0002"),
        _record(BOB, case_id="ESF-2026-0002"),
    ]
    return [e.seq for e in app.state.audit.append_many(records)]


def test_search_with_filters_newest_first(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    auditor = as_person("auditor")
    page = auditor.get("/console/audit/entries", params={"subject": ALICE}).text
    seqs = [int(s) for s in re.findall(r'<td><a href="/console/audit/entries/(\d+)">', page)]
    assert seqs == [logged[3], logged[2], logged[0]]
    denied = auditor.get(
        "/console/audit/entries", params={"decision": "denied", "department": "zj-mzt"}
    ).text
    assert re.findall(r'/console/audit/entries/(\d+)"', denied) == [str(logged[2])]
    by_case = auditor.get("/console/audit/entries", params={"case_id": "ESF-2026-0002"}).text
    assert len(re.findall(r'<td><a href="/console/audit/entries/', by_case)) == 2


def test_bad_filters_are_shown_beside_their_field(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    auditor = as_person("auditor")
    bad = auditor.get("/console/audit/entries", params={"from": "yesterday", "decision": "maybe"})
    assert bad.status_code == 422
    assert 'id="from-error">请填写有效日期' in bad.text
    assert 'id="decision-error">请从列表中选择' in bad.text
    reversed_range = auditor.get(
        "/console/audit/entries", params={"from": "2026-11-20T10:00", "to": "2026-11-01T10:00"}
    )
    assert 'id="to-error">须晚于起始时间' in reversed_range.text


def test_one_subjects_history_and_its_csv(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    auditor = as_person("auditor")
    page = auditor.get("/console/audit/subject", params={"key": ALICE}).text
    assert "共 3 次访问" in page and BOB not in page
    assert "<svg" in page and "zj-mzt" in page  # who accessed, by department
    download = auditor.get("/console/audit/entries.csv", params={"subject": ALICE})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert f'filename="access-log-{ALICE}-' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [int(r["seq"]) for r in rows] == [logged[3], logged[2], logged[0]]
    assert {r["subject_key"] for r in rows} == {ALICE}
    assert rows[1]["decision"] == "denied" and rows[1]["reason"] == "no grant"
    assert rows[0]["items_requested"] == "id_number name" and rows[0]["at"].endswith("+08:00")
    nothing = auditor.get("/console/audit/subject", params={"key": "nobody"}).text
    assert "共 0 次访问" in nothing and 'id="csv"' not in nothing


def test_an_entry_shows_every_field(logged: list[int], as_person: Callable[[str], Any]) -> None:
    auditor = as_person("auditor")
    page = auditor.get(f"/console/audit/entries/{logged[2]}").text
    assert "no grant" in page and "zj-mzt-backoffice" in page and "chain_hash" in page
    assert auditor.get("/console/audit/entries/99999").status_code == 404


def test_the_charts_count_pulls_per_day_department_and_denials(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    page = as_person("auditor").get("/console/audit").text
    assert page.count("<svg") == 3
    titles = re.findall(r"<title>([^<]*)</title>", page)
    assert "zj-zrzyt: 4" in titles and "zj-mzt: 1" in titles
    assert any(t.endswith("· 拒绝: 1") for t in titles)
    assert any(re.fullmatch(r"\d\d-\d\d: 5", t) for t in titles)  # today's column


def test_verify_streams_its_progress_and_result(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    auditor = as_person("auditor")
    response = auditor.post("/console/audit/verify", data={"csrf_token": auditor.csrf})
    assert response.status_code == 200
    html = response.text
    assert html.index("校验已开始") < html.index("<progress") < html.index('id="verify-result"')
    assert "校验通过" in html and f"校验了 {len(logged)} 条日志" in html
    refused = as_person("gat-admin").post("/console/audit/verify", data={"csrf_token": "x"})
    assert refused.status_code == 403


def test_export_to_parquet_then_run_a_report(
    logged: list[int], as_person: Callable[[str], Any]
) -> None:
    auditor = as_person("auditor")
    empty = auditor.post(
        "/console/audit/reports", data={"csrf_token": auditor.csrf, "name": "top-consumers"}
    )
    assert empty.status_code == 200
    exported = auditor.post("/console/audit/export", data={"csrf_token": auditor.csrf})
    assert exported.status_code == 200 and f"已导出 {len(logged)} 条" in exported.text
    again = auditor.post("/console/audit/export", data={"csrf_token": auditor.csrf})
    assert 'id="tool-problem"' in again.text and "nothing to export" in again.text
    report = auditor.post(
        "/console/audit/reports", data={"csrf_token": auditor.csrf, "name": "top-consumers"}
    )
    assert 'id="report"' in report.text and "zj-zrzyt-window" in report.text
    subject = auditor.post(
        "/console/audit/reports", data={"csrf_token": auditor.csrf, "name": "subject"}
    )
    assert 'id="tool-problem"' in subject.text
    unknown = auditor.post(
        "/console/audit/reports", data={"csrf_token": auditor.csrf, "name": "everything"}
    )
    assert "unknown report" in unknown.text
