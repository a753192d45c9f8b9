"""Pure rules of applications (办件): status transitions, the case number, identifier checks.

Nothing here touches a session or the clock: dates and statuses are passed in, so every
rule is tested without a database. Statuses are those of ``exchange.applications.models``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from catalogs.identifiers import resident_id_problem, uscc_problem
from exchange.core.errors import Conflict

ACCEPTED, IN_REVIEW, RETURNED = "accepted", "in_review", "returned"
COMPLETED, WITHDRAWN = "completed", "withdrawn"

# Application status → the statuses it may move to. completed and withdrawn are final.
TRANSITIONS: dict[str, set[str]] = {
    ACCEPTED: {IN_REVIEW, WITHDRAWN},
    IN_REVIEW: {COMPLETED, RETURNED, WITHDRAWN},
    RETURNED: {IN_REVIEW, WITHDRAWN},
    COMPLETED: set(),
    WITHDRAWN: set(),
}
FINAL_STATUSES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# Part (并联办理) statuses and the decisions a department may make on a pending part.
PART_PENDING, PART_APPROVED, PART_REJECTED = "pending", "approved", "rejected"
DECISIONS = {"approve": PART_APPROVED, "reject": PART_REJECTED}

# Material statuses from which the applicant may still bring a file (→ submitted), and
# from which the preview may decline items (→ must_submit).
FILE_ACCEPTING_STATUSES = frozenset(
    {"must_submit", "accepted_pending", "refused", "unavailable", "submitted"}
)
DECLINABLE_STATUSES = frozenset({"fetched"})

# 办件编号: "BJ" + the region (行政区划代码) + acceptance date + the zero-padded row id.
NUMBER_PREFIX = "BJ"
DEFAULT_REGION = "330000"  # 浙江省
NUMBER_RE = re.compile(r"^BJ(\d{6})-(\d{8})-(\d{6,})$")

IDENTIFIER_MAX_CHARS = 64
IDENTIFIER_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def problem(field: str, message: str) -> dict[str, Any]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message}


def check_transition(current: str, target: str, *, number: str) -> None:
    """Raise Conflict (409) naming both statuses unless ``current → target`` is allowed."""
    allowed = TRANSITIONS.get(current)
    if allowed is None:
        raise Conflict(f"application {number} has an unknown status {current!r}")
    if target not in allowed:
        nexts = ", ".join(sorted(allowed)) or "none: it is final"
        raise Conflict(
            f"application {number} is {current}; it cannot move to {target} "
            f"(allowed from {current}: {nexts})",
            current_status=current,
            target_status=target,
        )


def is_final(status: str) -> bool:
    """Return whether an application in ``status`` can no longer change."""
    return status in FINAL_STATUSES


def application_number(
    application_id: int, accepted_on: date, *, region: str = DEFAULT_REGION
) -> str:
    """Return the case number (办件编号), e.g. ``BJ330000-20261127-000042``."""
    if application_id < 1:
        raise ValueError(f"application id must be positive, not {application_id}")
    if not re.fullmatch(r"\d{6}", region):
        raise ValueError(f"region must be a 6-digit 行政区划代码, not {region!r}")
    return f"{NUMBER_PREFIX}{region}-{accepted_on:%Y%m%d}-{application_id:06d}"


def parse_application_number(number: str) -> tuple[str, date, int] | None:
    """Return (region, accepted_on, id) of a well-formed case number, else None."""
    m = NUMBER_RE.match(number)
    if not m:
        return None
    try:
        day = date(int(m.group(2)[:4]), int(m.group(2)[4:6]), int(m.group(2)[6:]))
    except ValueError:
        return None
    return m.group(1), day, int(m.group(3))


def _printable(value: str) -> bool:
    return value.isprintable() and value == value.strip()


def identifier_problems(
    identifiers: Mapping[str, str], *, field: str = "applicant.identifiers"
) -> list[dict[str, Any]]:
    """Return the problems of an applicant's identifiers: check digits and basic shape.

    ``resident_id`` and ``*_resident_id`` (居民身份证号, e.g. ``newborn_resident_id``) are
    checked per GB 11643, ``uscc`` and ``*_uscc`` (统一社会信用代码) per GB 32100; any other
    kind must be a non-empty printable string of ≤ 64 characters.
    """
    problems: list[dict[str, Any]] = []
    for kind, value in identifiers.items():
        where = f"{field}.{kind}"
        if not isinstance(kind, str) or not IDENTIFIER_KIND_RE.match(kind):
            problems.append(problem(where, "identifier kind must be lower-case snake_case"))
            continue
        if not isinstance(value, str):
            problems.append(problem(where, "must be a string"))
            continue
        if kind == "resident_id" or kind.endswith("_resident_id"):
            why = resident_id_problem(value)
            if why:
                problems.append(problem(where, f"not a valid resident ID: {why}"))
        elif kind == "uscc" or kind.endswith("_uscc"):
            why = uscc_problem(value)
            if why:
                problems.append(problem(where, f"not a valid unified social credit code: {why}"))
        elif not value:
            problems.append(problem(where, "must not be empty"))
        elif len(value) > IDENTIFIER_MAX_CHARS:
            problems.append(problem(where, f"must be at most {IDENTIFIER_MAX_CHARS} characters"))
        elif not _printable(value):
            problems.append(
                problem(where, "must be printable, without control characters or edge spaces")
            )
    return problems


def status_after_decisions(part_statuses: Collection[str]) -> str | None:
    """Return where an in-review application goes given its parts' statuses, or None to wait.

    Any part rejected → ``returned`` (back to the window); every part approved →
    ``completed``; otherwise it stays ``in_review`` (None).
    """
    if PART_REJECTED in part_statuses:
        return RETURNED
    if part_statuses and all(s == PART_APPROVED for s in part_statuses):
        return COMPLETED
    return None


def part_decision_status(decision: str) -> str:
    """Return the part status a decision (``approve``/``reject``) leads to, or raise ValueError."""
    try:
        return DECISIONS[decision]
    except KeyError:
        raise ValueError(f"decision must be one of {sorted(DECISIONS)}, not {decision!r}") from None


def check_part_decision(part_status: str, *, part_id: int, number: str) -> None:
    """Raise Conflict (409) unless the part is still pending (a part is decided once)."""
    if part_status != PART_PENDING:
        raise Conflict(
            f"part {part_id} of application {number} is already {part_status}",
            current_status=part_status,
        )


def check_decline(material_status: str, *, material: str, number: str) -> None:
    """Raise Conflict (409) unless the material holds fetched evidence the preview may decline."""
    if material_status not in DECLINABLE_STATUSES:
        raise Conflict(
            f"material {material} of application {number} is {material_status}; "
            "only fetched evidence can be declined",
            current_status=material_status,
        )


def check_file_allowed(material_status: str, *, material: str, number: str) -> None:
    """Raise Conflict (409) if the material cannot take a file (fetched: decline it first)."""
    if material_status not in FILE_ACCEPTING_STATUSES:
        raise Conflict(
            f"material {material} of application {number} is {material_status}; "
            "decline the fetched evidence in the preview before bringing a file",
            current_status=material_status,
        )


def counts_as_one_visit(visits: int) -> bool:
    """Return whether an application met 最多跑一次: the applicant came at most once."""
    return visits <= 1
