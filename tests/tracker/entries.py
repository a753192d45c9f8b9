"""Access-log entries about three citizens, appended through the log's own API (real hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from exchange.audit.records import AuditRecord
from tests.tracker.idp import ALICE, BOB, CAROL

ID_CARD = "301001002/000002"  # 居民身份证信息, zj-gat
MARRIAGE = "302001001/000001"  # 婚姻登记信息, zj-mzt
TRANSFER = "330000-ZR-001"  # 国有建设用地使用权及房屋所有权转移登记 (zj-zrzyt)
START = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # 09:30 in Hangzhou


@dataclass(frozen=True)
class Logged:
    """The sequence numbers of each citizen's entries, oldest first."""

    alice: list[int]
    bob: list[int]
    carol: list[int]


def _pull(subject: str, minutes: int, **overrides: object) -> AuditRecord:
    values: dict[str, object] = {
        "decision": "allowed",
        "outcome": 200,
        "request_id": f"req-{minutes}",
        "system": "zj-zrzyt-window",
        "department": "zj-zrzyt",
        "token_jti": f"jti-{minutes}",
        "provider": "zj-gat",
        "resource_code": ID_CARD,
        "resource_version": "1.0",
        "items_requested": ["id_number", "name", "address"],
        "items_returned": ["id_number", "name", "address"],
        "subject_key": subject,
        "purpose": TRANSFER,
        "case_id": f"ESF-2026-{minutes:04d}",
        "grant_ids": [1],
        "policy_version": 3,
        "record_count": 1,
        "latency_ms": 12,
        "response_hash": f"{minutes:064x}",
        "at": START + timedelta(minutes=minutes),
    }
    values.update(overrides)
    return AuditRecord(**values)  # type: ignore[arg-type]


def log_accesses(app: FastAPI) -> Logged:
    """Append seven entries: four about Alice (one denied, one partial), two Bob, one Carol."""
    records = [
        _pull(ALICE, 0),
        _pull(BOB, 1),
        _pull(
            ALICE,
            2,
            decision="denied",
            outcome=403,
            system="zj-mzt-backoffice",
            department="zj-mzt",
            items_requested=["name", "photo"],
            items_returned=[],
            purpose="330000-MZ-001",
            case_id=None,
            reason="photo 不在授权范围",
            record_count=0,
        ),
        _pull(CAROL, 3),
        _pull(
            ALICE,
            4,
            decision="partial",
            provider="zj-mzt",
            resource_code=MARRIAGE,
            items_requested=["id_number", "marital_status", "spouse_name"],
            items_returned=["id_number", "marital_status"],
            purpose="esf-transfer",
        ),
        _pull(BOB, 5),
        _pull(ALICE, 6 * 60),
    ]
    seqs = [e.seq for e in app.state.audit.append_many(records)]
    return Logged(
        alice=[seqs[0], seqs[2], seqs[4], seqs[6]],
        bob=[seqs[1], seqs[5]],
        carol=[seqs[3]],
    )
