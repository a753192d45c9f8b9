"""The pull plan and the fan-out: every pullable material pulled at once, each within limits.

``plan`` turns a one-thing's materials into pulls (resource, items, key, purpose) and
settles at once what needs no pull: no consent, no key, a resource the catalogue lacks or
does not share. ``pull_all`` runs the pulls concurrently, each through the record-pull
path itself (``exchange.records.service.pull_records``: the same checks, grant decision,
masking and access-log entries as ``POST /v1/records/…/lookup``, with the application's
number as case id). Each source gets its own deadline, cut short so that every pull ends
before the submission's budget; a refusal is logged as the records route logs it
(``AuditTrail.refuse``), and the outcome per material is one of ``fetched``,
``must_submit`` (no record, or the pull cannot be made), ``refused`` (no grant: the reason
names resource, items and purpose) or ``unavailable`` (the source failed: retried later).
An access log that cannot be written stops everything (``AuditUnavailable``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from exchange.audit.errors import AuditUnavailable
from exchange.audit.log import AuditLog
from exchange.audit.records import AppendedEntry
from exchange.core.errors import DomainError, Forbidden
from exchange.identity.principal import Principal
from exchange.records.audited import AuditTrail
from exchange.records.errors import SourceError
from exchange.records.schemas import LookupRequest
from exchange.records.service import Hub, pull_records

log = logging.getLogger("datarun.applications.fanout")

FETCHED, MUST_SUBMIT, REFUSED, UNAVAILABLE = "fetched", "must_submit", "refused", "unavailable"
MIN_TIMEOUT = 0.001  # a pull past the budget still runs its checks and is logged as a timeout
# Sources the retries cannot help: no connector is bound at all.
_NOT_RETRIED = frozenset({"not_bound"})


@dataclass(frozen=True)
class MaterialSpec:
    """A one-thing's material as the plan sees it (a snapshot, not the ORM row)."""

    code: str
    name: str
    kind: str  # pullable | submitted
    position: int
    resource_code: str | None
    items: tuple[str, ...]
    key_identifier: str | None
    minor: bool
    commitment_allowed: bool
    service_item: str | None
    purpose: str  # the service item's code, else the one-thing's (as the demand planner)


@dataclass(frozen=True)
class Pull:
    """One planned pull: a material's items of a resource, by one key, for one purpose."""

    material: str
    position: int
    resource: str
    items: tuple[str, ...]
    key: str
    purpose: str


@dataclass(frozen=True)
class Outcome:
    """How one material came out of the fan-out (or of a retry)."""

    material: str
    status: str
    reason: str | None = None
    subject_key: str | None = None
    records: list[dict[str, Any]] | None = None
    sha256: str | None = None
    audit_seq: int | None = None
    provider: str | None = None
    masked: frozenset[str] = frozenset()
    appended: list[AppendedEntry] = field(default_factory=list)


def key_for(
    spec: MaterialSpec, identifiers: Mapping[str, str], keys: Mapping[str, str]
) -> str | None:
    """Return the key a material is looked up by: its own key, else the applicant's identifier."""
    if spec.code in keys:
        return keys[spec.code]
    if spec.key_identifier:
        return identifiers.get(spec.key_identifier)
    return None


async def plan(
    hub: Hub,
    specs: Sequence[MaterialSpec],
    *,
    consent: bool,
    identifiers: Mapping[str, str],
    material_keys: Mapping[str, str],
) -> tuple[list[Pull], dict[str, Outcome]]:
    """Return the pulls to make and the outcomes settled without one (pullable specs only)."""
    pulls: list[Pull] = []
    settled: dict[str, Outcome] = {}
    for spec in specs:
        key = key_for(spec, identifiers, material_keys)

        def must(reason: str, spec: MaterialSpec = spec, key: str | None = key) -> None:
            settled[spec.code] = Outcome(spec.code, MUST_SUBMIT, reason, subject_key=key)

        if not consent:
            must("the applicant did not ask the hub to fetch their records (consent_to_fetch)")
            continue
        if not spec.resource_code or not spec.items:
            must("the material names no catalogue resource and items to pull")
            continue
        view = await hub.catalogue.resource(spec.resource_code)
        if view is None:
            must(f"resource {spec.resource_code} is not in the catalogue")
            continue
        if view.status not in ("published", "deprecated"):
            must(f"resource {spec.resource_code} is {view.status}, not published")
            continue
        if view.share_type == "none":
            basis = f" ({view.legal_basis})" if view.legal_basis else ""
            must(f"resource {spec.resource_code} is not shared (不予共享){basis}")
            continue
        if key is None:
            where = f"applicant.identifiers.{spec.key_identifier}" if spec.key_identifier else ""
            must(
                f"no key to look it up: give material_keys.{spec.code}"
                + (f" or {where}" if where else "")
            )
            continue
        pulls.append(
            Pull(spec.code, spec.position, spec.resource_code, spec.items, key, spec.purpose)
        )
    return pulls, settled


async def pull_all(
    hub: Hub,
    *,
    audit: AuditLog,
    principal: Principal,
    request_id: str | None,
    case_id: str,
    pulls: Sequence[Pull],
    per_source: float,
    cutoff: float,
) -> list[Outcome]:
    """Run every pull at once; return their outcomes in order (raise if the log fails)."""
    tasks = [
        pull_one(
            hub,
            audit=audit,
            principal=principal,
            request_id=request_id,
            case_id=case_id,
            pull=p,
            timeout=max(MIN_TIMEOUT, min(per_source, cutoff - time.monotonic())),
        )
        for p in pulls
    ]
    # Every pull runs to its end (each is bounded by its timeout), then the first failure
    # of the access log, if any, stops the submission.
    results = await asyncio.gather(*tasks, return_exceptions=True)
    outcomes: list[Outcome] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        outcomes.append(result)
    return outcomes


async def pull_one(
    hub: Hub,
    *,
    audit: AuditLog,
    principal: Principal,
    request_id: str | None,
    case_id: str,
    pull: Pull,
    timeout: float,
) -> Outcome:
    """Pull one material through the record-pull path; log a refusal as the route does."""
    trail = AuditTrail(audit=audit, principal=principal, request_id=request_id)
    trail.note(resource_code=pull.resource, keys=[pull.key], case_id=case_id)
    try:
        ask = LookupRequest(
            keys=[pull.key], items=list(pull.items), purpose=pull.purpose, case_id=case_id
        )
    except ValidationError as exc:
        return Outcome(
            pull.material,
            MUST_SUBMIT,
            f"the pull cannot be asked: {exc.errors()[0]['msg']}",
            subject_key=pull.key,
        )
    try:
        pulled = await pull_records(
            hub=hub, trail=trail, code=pull.resource, ask=ask, timeout=timeout
        )
    except AuditUnavailable:
        raise
    except DomainError as exc:
        await trail.refuse(exc)  # AuditUnavailable if it cannot be logged
        status, reason = classify(exc, pull, principal.department)
        return Outcome(pull.material, status, reason, subject_key=pull.key, appended=trail.appended)
    except Exception as exc:  # a connector's bug must not lose the material nor the entry
        log.exception("pull of %s for %s failed unexpectedly", pull.resource, case_id)
        error = SourceError(
            f"the source of {pull.resource} failed: {type(exc).__name__}",
            source_reason="error",
        )
        await trail.refuse(error)
        return Outcome(
            pull.material, UNAVAILABLE, error.detail, subject_key=pull.key, appended=trail.appended
        )
    if not pulled.records:
        return Outcome(
            pull.material,
            MUST_SUBMIT,
            f"{pulled.view.provider} holds no record of {pull.resource} for this key",
            subject_key=pull.key,
            audit_seq=pulled.seqs[0],
            provider=pulled.view.provider,
            appended=trail.appended,
        )
    return Outcome(
        pull.material,
        FETCHED,
        None,
        subject_key=pull.key,
        records=pulled.records,
        sha256=pulled.records_sha256,
        audit_seq=pulled.seqs[0],
        provider=pulled.view.provider,
        masked=frozenset(pulled.masked),
        appended=trail.appended,
    )


def classify(error: DomainError, pull: Pull, department: str) -> tuple[str, str]:
    """Return (status, reason) of a material whose pull was refused or failed."""
    if isinstance(error, SourceError):
        source_reason = error.extra.get("source_reason")
        if source_reason in _NOT_RETRIED:
            return MUST_SUBMIT, error.detail
        return UNAVAILABLE, error.detail
    if isinstance(error, Forbidden):
        denied = error.extra.get("denied_items")
        if denied:
            return REFUSED, (
                f"missing grant: {department} holds no grant of {pull.resource} for items "
                f"{', '.join(denied)} for purpose {pull.purpose}"
            )
        if error.extra.get("legal_basis") is not None:
            return MUST_SUBMIT, error.detail
        return REFUSED, error.detail
    if error.status >= 500:
        return UNAVAILABLE, error.detail
    return MUST_SUBMIT, error.detail
