"""After the load: every data response served against the access log, the chain, the cases.

``check_log`` takes every answer that carried data — a pull's 200 (its ``X-Audit-Seq``
range and ``Records-Digest``), an accepted application's 201 (each fetched material's
``audit_seq`` and evidence hash), a case file's 200 and a replay's 201 (their body hash) —
and looks each one up in the log: an answer whose entries are missing, name another
request or hash other data is *lost*. It also counts every data entry of the log
(decision allowed or partial) by where it came from: an answer the clients received, a
request that was never answered (its hub was killed after the commit), the background
retry of unavailable materials. ``check_applications`` looks at every application the
database holds after the run: materials still unavailable, applications with no material
at all (a submission cut by a kill), keys still in flight.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from exchange.applications.models import Application, ApplicationMaterial, IdempotencyRecord
from exchange.audit.findings import VerifyResult
from exchange.audit.models import AuditEntry
from exchange.audit.verify import verify_log
from loadtest.traffic import Attempt, Case

DATA = ("allowed", "partial")
RETRY_PREFIX = "retry-"
PULLS = ("pull", "pull-get", "probe")
GAVE_UP = "the source stayed unavailable"  # the reason of a material the retries gave up on


@dataclass
class LogCheck:
    """Data answers served against the access log."""

    served: int = 0  # answers that carried data
    served_entries: int = 0  # their entries found in the log
    lost: int = 0  # answers with an entry missing, of another request or another hash
    examples: list[str] = field(default_factory=list)
    logged: int = 0  # data entries in the log (allowed, partial)
    unanswered: int = 0  # …of requests whose answer never reached the client
    retries: int = 0  # …of the background retry of unavailable materials
    other: int = 0  # …of nothing this run sent (should be 0)

    @property
    def equal(self) -> bool:
        """Tell whether the log's data entries are exactly those of the answers served."""
        return self.logged == self.served_entries and self.lost == 0

    def miss(self, attempt: Attempt, why: str) -> None:
        """Count a lost answer (keep the first few to show)."""
        self.lost += 1
        if len(self.examples) < 10:
            self.examples.append(f"{attempt.kind} {attempt.request_id}: {why}")


@dataclass(frozen=True)
class _Row:
    seq: int
    request_id: str | None
    decision: str
    response_hash: str | None
    case_id: str | None


def _entries(engine: Engine) -> tuple[dict[int, _Row], dict[str, list[_Row]]]:
    by_seq: dict[int, _Row] = {}
    by_request: dict[str, list[_Row]] = {}
    columns = (
        AuditEntry.seq,
        AuditEntry.request_id,
        AuditEntry.decision,
        AuditEntry.response_hash,
        AuditEntry.case_id,
    )
    with engine.connect() as conn:
        for r in conn.execute(select(*columns).order_by(AuditEntry.seq)):
            row = _Row(int(r[0]), r[1], str(r[2]), r[3], r[4])
            by_seq[row.seq] = row
            by_request.setdefault(row.request_id or "", []).append(row)
    return by_seq, by_request


def check_log(engine: Engine, attempts: Iterable[Attempt]) -> LogCheck:
    """Look every data answer up in the access log; count the log's data entries by origin."""
    by_seq, by_request = _entries(engine)
    result = LogCheck()
    answered: set[str] = set()
    sent: set[str] = set()
    for attempt in attempts:
        sent.add(attempt.request_id)
        if not _carries_data(attempt):
            continue
        answered.add(attempt.request_id)
        result.served += 1
        mine = [r for r in by_request.get(attempt.request_id, []) if r.decision in DATA]
        result.served_entries += len(mine)
        _check_answer(result, attempt, mine, by_seq)
    for row in by_seq.values():
        if row.decision not in DATA:
            continue
        result.logged += 1
        rid = row.request_id or ""
        if rid in answered:
            continue
        if rid.startswith(RETRY_PREFIX):
            result.retries += 1
        elif rid in sent:
            result.unanswered += 1
        else:
            result.other += 1
    return result


def _carries_data(attempt: Attempt) -> bool:
    if attempt.kind in PULLS:
        return attempt.status == 200
    if attempt.kind in ("submit", "replay"):
        return attempt.status == 201
    return attempt.kind == "read" and attempt.status == 200


def _check_answer(
    result: LogCheck, attempt: Attempt, mine: Sequence[_Row], by_seq: dict[int, _Row]
) -> None:
    if not mine:
        result.miss(attempt, "no data entry with its request id")
        return
    if attempt.kind in PULLS:
        if attempt.seqs is None or attempt.digest is None:
            result.miss(attempt, "answered without X-Audit-Seq or Records-Digest")
            return
        first, last = attempt.seqs
        for seq in range(first, last + 1):
            row = by_seq.get(seq)
            if row is None or row.request_id != attempt.request_id:
                result.miss(attempt, f"seq {seq} missing or of another request")
                return
            if row.response_hash != attempt.digest:
                result.miss(attempt, f"seq {seq} hashes other records")
                return
        if last - first + 1 != attempt.keys:
            result.miss(attempt, f"{attempt.keys} keys asked, {last - first + 1} entries")
        return
    if attempt.kind == "submit" and not attempt.body_sha256:
        result.miss(attempt, "accepted without a case file")
        return
    if attempt.kind == "submit":
        for seq, sha in attempt.fetched:
            row = by_seq.get(seq)
            if row is None or row.case_id != attempt.number or row.response_hash != sha:
                result.miss(attempt, f"material entry {seq} missing or not its evidence")
                return
        if not attempt.fetched and not any(r.case_id == attempt.number for r in mine):
            result.miss(attempt, "no entry names the application")
        return
    # A case file read or a replay: its entries hash the very bytes answered.
    if any(r.response_hash != attempt.body_sha256 for r in mine):
        result.miss(attempt, "an entry hashes another body")


def verify(engine: Engine, *, secret: str, witness_dir: Path | None) -> VerifyResult:
    """Verify the whole access log (chain, checkpoints, head; the witness copy if any)."""
    return verify_log(engine, secret=secret, witness_dir=witness_dir, workers=1)


@dataclass
class CaseCheck:
    """Applications in the database after the run (and the drain of retries)."""

    applications: int = 0  # rows in the database
    accepted: int = 0  # cases the clients saw accepted (201)
    refused: Counter[int] = field(default_factory=Counter)  # final status of the others
    cut_attempts: int = 0
    cases_cut: int = 0  # cases with at least one attempt lost to a kill
    cut_accepted: int = 0  # …accepted in the end, resubmitted with the same key
    in_flight_answers: int = 0  # 409s the clients waited through
    replays: int = 0
    replays_differing: int = 0
    unknown_numbers: int = 0  # accepted numbers the database does not hold
    duplicates: int = 0  # keys with more than one application answered
    materials: Counter[str] = field(default_factory=Counter)  # of accepted cases
    stuck: int = 0  # materials still unavailable (of accepted cases)
    scheduled: int = 0  # …of which a retry is still due
    retried: int = 0  # materials of accepted cases fetched by a background retry
    gave_up: int = 0  # …left to the applicant after the retries ran out (must_submit)
    orphans: int = 0  # applications with no material: their submission never finished
    orphan_numbers: list[str] = field(default_factory=list)
    unclaimed: int = 0  # whole applications no client was answered (a second one for a case)
    keys_in_flight: int = 0  # idempotency keys never completed nor released
    drained_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether every accepted case is whole and settled."""
        return (
            self.stuck == 0
            and self.unknown_numbers == 0
            and self.duplicates == 0
            and self.replays_differing == 0
        )


def unavailable_count(engine: Engine) -> int:
    """Return how many materials are still unavailable (waiting for a retry)."""
    with engine.connect() as conn:
        found = conn.scalar(
            select(func.count())
            .select_from(ApplicationMaterial)
            .where(ApplicationMaterial.status == "unavailable")
        )
    return int(found or 0)


def drain(engine: Engine, *, timeout: float, say: Callable[[str], None] | None = None) -> float:
    """Wait until no material is unavailable (the retries settled them) or ``timeout``."""
    started = time.monotonic()
    last = -1
    while True:
        left = unavailable_count(engine)
        waited = time.monotonic() - started
        if left == 0 or waited > timeout:
            return waited
        if say is not None and left != last:
            say(f"  {left} material(s) still unavailable after {waited:.0f} s")
            last = left
        time.sleep(1.0)


def check_applications(engine: Engine, cases: Sequence[Case]) -> CaseCheck:
    """Compare the cases the clients lived with the applications the database holds."""
    result = CaseCheck()
    numbers: Counter[str] = Counter()
    for case in cases:
        result.cut_attempts += case.cut
        result.cases_cut += 1 if case.cut else 0
        result.in_flight_answers += case.in_flight
        if case.replay_same is not None:
            result.replays += 1
            result.replays_differing += 0 if case.replay_same else 1
        if case.status == 201 and case.number:
            result.accepted += 1
            result.cut_accepted += 1 if case.cut else 0
            numbers[case.number] += 1
        else:
            result.refused[case.status] += 1
    result.duplicates = sum(1 for n in numbers.values() if n > 1)
    accepted = set(numbers)
    with engine.connect() as conn:
        apps: dict[int, str] = {
            int(r[0]): str(r[1]) for r in conn.execute(select(Application.id, Application.number))
        }
        rows: list[Any] = list(
            conn.execute(
                select(
                    ApplicationMaterial.application_id,
                    ApplicationMaterial.status,
                    ApplicationMaterial.next_attempt_at,
                    ApplicationMaterial.attempts,
                    ApplicationMaterial.reason,
                )
            )
        )
        result.keys_in_flight = int(
            conn.scalar(
                select(func.count())
                .select_from(IdempotencyRecord)
                .where(IdempotencyRecord.state == "in_flight")
            )
            or 0
        )
    result.applications = len(apps)
    result.unknown_numbers = len(accepted - set(apps.values()))
    with_materials = set()
    for application_id, status, next_at, tries, reason in rows:
        with_materials.add(int(application_id))
        if apps.get(int(application_id)) not in accepted:
            continue
        result.materials[str(status)] += 1
        if status == "unavailable":
            result.stuck += 1
            result.scheduled += 1 if next_at is not None else 0
        elif status == "fetched" and (tries or 0) > 1:
            result.retried += 1
        elif status == "must_submit" and str(reason or "").startswith(GAVE_UP):
            result.gave_up += 1
    orphans = sorted(n for i, n in apps.items() if i not in with_materials)
    result.orphans = len(orphans)
    result.unclaimed = sum(1 for i, n in apps.items() if i in with_materials and n not in accepted)
    result.orphan_numbers = orphans[:10]
    return result
