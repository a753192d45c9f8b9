"""The data tracker (数据足迹): a citizen reads who accessed their records and objects.

A citizen sees the access-log entries whose data subject is their resident ID, whatever
the decision (allowed, partial, denied, source error), and only those: another person's
entry is a 404, exactly like one that does not exist. Every read is recorded in
``tracker_reads`` (see ``exchange.tracker.models`` for why not in the access log): a read
that answers in the request's transaction, a miss in a transaction of its own (the 404
rolls the request's back).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from exchange.audit.models import AuditEntry
from exchange.core.db import session_scope
from exchange.core.errors import InvalidInput, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.grants.service import china_today
from exchange.objections import repository as objection_repo
from exchange.objections import rules as objection_rules
from exchange.objections.models import DataObjection
from exchange.tracker import repository as repo
from exchange.tracker.citizens import Citizen
from exchange.tracker.models import TrackerRead
from exchange.tracker.rules import subject_hmac
from exchange.tracker.schemas import AccessRead, CitizenObjectionRead, ItemRef


class ReadRecorder:
    """Writes the tracker's record of each read (pseudonymous, with the token's identity)."""

    def __init__(
        self, key: bytes, factory: sessionmaker[Session], request_id: str | None = None
    ) -> None:
        self._key, self._factory, self._request_id = key, factory, request_id

    def _row(
        self, citizen: Citizen, view: str, target: int | None, n: int, found: bool
    ) -> TrackerRead:
        return TrackerRead(
            subject_hmac=subject_hmac(self._key, citizen.id_number),
            issuer=citizen.issuer[:255],
            token_id=citizen.token_id[:255] if citizen.token_id else None,
            request_id=self._request_id,
            view=view,
            target=target,
            returned=n,
            found=found,
        )

    def read(
        self, session: Session, citizen: Citizen, view: str, target: int | None, n: int
    ) -> None:
        """Record a read in the request's transaction (it commits before the answer leaves)."""
        repo.add_read(session, self._row(citizen, view, target, n, True))

    def miss(self, citizen: Citizen, view: str, target: int) -> None:
        """Record a miss (not theirs, or no such thing) in a transaction of its own."""
        with session_scope(self._factory) as side:
            repo.add_read(side, self._row(citizen, view, target, 0, False))


def _items(codes: list[str], names: dict[str, str]) -> list[ItemRef]:
    return [ItemRef(code=c, name=names.get(c)) for c in codes]


def _to_reads(session: Session, entries: list[AuditEntry]) -> list[AccessRead]:
    departments = repo.department_names(
        session, [e.department for e in entries] + [e.provider for e in entries]
    )
    systems = repo.system_names(session, [e.system for e in entries])
    resources = repo.resources(session, [e.resource_code for e in entries])
    purposes = repo.purpose_names(session, [e.purpose for e in entries])
    reads = []
    for e in entries:
        resource = resources.get(e.resource_code or "")
        item_names = {i.code: i.name for i in resource.items} if resource else {}
        reads.append(
            AccessRead(
                seq=e.seq,
                at=e.at,
                department=e.department,
                department_name=departments.get(e.department or ""),
                system=e.system,
                system_name=systems.get(e.system or ""),
                provider=e.provider,
                provider_name=departments.get(e.provider or ""),
                resource_code=e.resource_code,
                resource_name=resource.name if resource else None,
                items_requested=_items(list(e.items_requested), item_names),
                items_returned=_items(list(e.items_returned), item_names),
                purpose=e.purpose,
                purpose_name=purposes.get(e.purpose or ""),
                case_id=e.case_id,
                decision=e.decision,
                reason=e.reason,
                record_count=e.record_count,
                entry_hash=e.entry_hash,
            )
        )
    return reads


def list_accesses(
    session: Session,
    *,
    citizen: Citizen,
    page: PageParams,
    since: datetime | None,
    until: datetime | None,
    recorder: ReadRecorder,
) -> Page[AccessRead]:
    """Return one page of the accesses to the citizen's records, newest first."""
    if since and until and since >= until:
        raise InvalidInput(
            "the time range is empty", errors=[{"field": "to", "message": "must be after from"}]
        )
    entries, total = repo.entries_about(
        session, citizen.id_number, since=since, until=until, offset=page.offset, limit=page.size
    )
    recorder.read(session, citizen, "accesses", None, len(entries))
    return Page(items=_to_reads(session, entries), total=total, page=page.page, size=page.size)


def get_access(
    session: Session, *, citizen: Citizen, seq: int, recorder: ReadRecorder
) -> AccessRead:
    """Return one access to the citizen's records; another person's entry is a 404."""
    entry = repo.entry(session, seq)
    if entry is None or entry.subject_key != citizen.id_number:
        recorder.miss(citizen, "access", seq)
        raise NotFound(f"no access entry {seq} about you")
    recorder.read(session, citizen, "access", seq, 1)
    return _to_reads(session, [entry])[0]


def to_citizen_read(objection: DataObjection, today: date) -> CitizenObjectionRead:
    """Return the citizen's view of their objection (no internal principal names)."""
    names = {i.code: i.name for i in objection.resource.items}
    overdue = objection_rules.working_days_overdue(objection.status, objection.due_on, today)
    return CitizenObjectionRead(
        id=objection.id,
        resource_code=objection.resource.code,
        resource_name=objection.resource.name,
        provider=objection.provider.code,
        provider_name=objection.provider.name,
        items=_items(list(objection.items), names),
        description=objection.description,
        proposed_correction=objection.proposed_correction,
        raised_at=objection.raised_at,
        audit_seq=objection.audit_seq,
        case_id=objection.case_id,
        status=objection.status,
        due_on=objection.due_on,
        overdue=overdue is not None,
        escalated=objection.escalated_at is not None,
        answer=objection.answer,
        answer_reason=objection.answer_reason,
        answered_at=objection.answered_at,
        closed_at=objection.closed_at,
    )


def list_objections(
    session: Session,
    *,
    citizen: Citizen,
    page: PageParams,
    status: str | None,
    recorder: ReadRecorder,
) -> Page[CitizenObjectionRead]:
    """Return one page of the citizen's own objections, newest first."""
    today = china_today()
    f = objection_repo.ObjectionFilter(citizen_key=citizen.id_number, status=status)
    rows, total = objection_repo.list_objections(
        session, f, today=today, offset=page.offset, limit=page.size
    )
    recorder.read(session, citizen, "objections", None, len(rows))
    items = [to_citizen_read(o, today) for o in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


def get_objection(
    session: Session, *, citizen: Citizen, objection_id: int, recorder: ReadRecorder
) -> CitizenObjectionRead:
    """Return one of the citizen's own objections (else 404)."""
    objection = objection_repo.objection_by_id(session, objection_id)
    if (
        objection is None
        or objection.source != "tracker"
        or (objection.subject_key != citizen.id_number)
    ):
        recorder.miss(citizen, "objection", objection_id)
        raise NotFound(f"no objection {objection_id} of yours")
    recorder.read(session, citizen, "objection", objection_id, 1)
    return to_citizen_read(objection, china_today())
