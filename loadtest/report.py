"""Summary tables: throughput, latency percentiles and errors per traffic type; the checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from exchange.audit.findings import VerifyResult
from loadtest.checks import CaseCheck, LogCheck
from loadtest.traffic import Attempt

KINDS = ("pull", "pull-get", "submit", "read", "replay")
LABELS = {
    "pull": "pull (POST …/lookup, 1–3 keys)",
    "pull-get": "pull (GET, one key)",
    "submit": "application submit",
    "read": "case file read",
    "replay": "submit replay (same key)",
}


@dataclass(frozen=True)
class KindStats:
    """What one traffic type did."""

    kind: str
    requests: int
    ok: int
    errors: int  # no answer, 5xx, or a 4xx other than 409 (a key in flight: retried)
    statuses: Counter[int]
    rate: float  # answered 2xx per second of the whole run
    p50: float
    p95: float
    p99: float

    @property
    def error_rate(self) -> float:
        """Return errors per request."""
        return self.errors / self.requests if self.requests else 0.0


def percentile(sorted_ms: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile of sorted samples (0 when there are none)."""
    if not sorted_ms:
        return 0.0
    rank = max(0, min(len(sorted_ms) - 1, round(share * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[rank]


def stats(attempts: Sequence[Attempt], seconds: float) -> list[KindStats]:
    """Summarise the attempts per traffic type."""
    out = []
    for kind in KINDS:
        mine = [a for a in attempts if a.kind == kind]
        if not mine:
            continue
        times = sorted(a.ms for a in mine if a.status)
        ok = sum(1 for a in mine if a.ok)
        errors = sum(1 for a in mine if not a.ok and a.status != 409)
        out.append(
            KindStats(
                kind=kind,
                requests=len(mine),
                ok=ok,
                errors=errors,
                statuses=Counter(a.status for a in mine),
                rate=ok / seconds,
                p50=percentile(times, 0.50),
                p95=percentile(times, 0.95),
                p99=percentile(times, 0.99),
            )
        )
    return out


def traffic_table(rows: Sequence[KindStats], seconds: float) -> list[str]:
    """Return the per-type table (and a total line)."""
    head = (
        f"  {'traffic':<32} {'requests':>8} {'2xx/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7} {'error %':>7}"
    )
    lines = [head, "  " + "-" * (len(head) - 2)]
    for r in rows:
        lines.append(
            f"  {LABELS[r.kind]:<32} {r.requests:>8,} {r.rate:>7.1f} {r.p50:>8.1f} "
            f"{r.p95:>8.1f} {r.p99:>8.1f} {r.errors:>7,} {r.error_rate * 100:>6.2f}%"
        )
    total = sum(r.requests for r in rows)
    ok = sum(r.ok for r in rows)
    errors = sum(r.errors for r in rows)
    lines.append(
        f"  {'all':<32} {total:>8,} {ok / seconds:>7.1f} {'':>8} {'':>8} {'':>8} "
        f"{errors:>7,} {errors / max(total, 1) * 100:>6.2f}%"
    )
    odd = {
        LABELS[r.kind]: dict(sorted((s, n) for s, n in r.statuses.items() if not 200 <= s < 300))
        for r in rows
    }
    for label, found in odd.items():
        if found:
            shown = ", ".join(f"{'no answer' if s == 0 else s}: {n}" for s, n in found.items())
            lines.append(f"    {label}: {shown}")
    return lines


def error_lines(attempts: Sequence[Attempt], top: int = 5) -> list[str]:
    """Return the commonest error answers (status and what the hub said), if any."""
    found = Counter(
        (a.status, a.error if a.status == 0 else a.detail or "")
        for a in attempts
        if a.kind in KINDS and not a.ok and a.status != 409
    )
    return [
        f"    {n:>6,} x {'no answer' if status == 0 else status}: {what}"
        for (status, what), n in found.most_common(top)
    ]


def log_lines(check: LogCheck, verified: VerifyResult) -> list[str]:
    """Return the access-log checks as lines with PASS/FAIL."""
    lines = [
        f"  data answers served {check.served:,}, their entries in the log "
        f"{check.served_entries:,}; lost (served without its entry) {check.lost:,}   "
        f"[{_flag(check.lost == 0)}]",
        f"  data entries in the log (allowed/partial) {check.logged:,} = served "
        f"{check.served_entries:,} + never answered {check.unanswered:,} + background "
        f"retries {check.retries:,} + other {check.other:,}",
    ]
    lines += [f"    lost: {e}" for e in check.examples]
    first = f", first bad seq {verified.first_bad_seq}" if not verified.ok else ""
    lines.append(
        f"  audit verify: {verified.entries_checked:,} entries, {verified.checkpoints_checked} "
        f"checkpoints, {verified.witness_checkpoints} witnessed, {verified.seconds:.1f} s"
        f"{first}   [{_flag(verified.ok)}]"
    )
    lines += [f"    {p.seq}: {p.kind}: {p.detail}" for p in verified.problems[:5]]
    return lines


def case_lines(check: CaseCheck) -> list[str]:
    """Return the applications' checks."""
    refused = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(check.refused.items()))
    materials = ", ".join(f"{s} {n:,}" for s, n in sorted(check.materials.items()))
    whole = not check.unknown_numbers and not check.duplicates
    return [
        f"  cases accepted {check.accepted:,}{f' (not accepted: {refused})' if refused else ''}; "
        f"replays {check.replays:,} ({check.replays_differing} differing)   "
        f"[{_flag(check.replays_differing == 0)}]",
        f"  attempts lost to a kill {check.cut_attempts:,} in {check.cases_cut:,} cases, "
        f"{check.cut_accepted:,} of them accepted when resubmitted with the same key; 409 "
        f"in-flight answers waited through {check.in_flight_answers:,}",
        f"  accepted numbers missing from the database {check.unknown_numbers}, numbers "
        f"answered twice {check.duplicates}   [{_flag(whole)}]",
        f"  materials of accepted cases: {materials}; fetched by a background retry "
        f"{check.retried:,}, given up after the retries {check.gave_up:,}",
        f"  still unavailable after the drain ({check.drained_seconds:.0f} s): {check.stuck} "
        f"({check.scheduled} with a retry scheduled)   [{_flag(check.stuck == 0)}]",
        f"  applications in the database {check.applications:,}; left behind by a cut "
        f"submission: {check.orphans} with no material, {check.unclaimed} whole but never "
        f"answered (the retry made another)"
        + ("   [WARN]" if check.orphans or check.unclaimed else ""),
        *([f"    e.g. {', '.join(check.orphan_numbers)}"] if check.orphans else []),
        f"  Idempotency-Keys still in flight {check.keys_in_flight}",
    ]


def _flag(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
