"""HTTP routes of the data tracker (数据足迹) for citizens: accesses and their objections.

Every route takes ``CurrentCitizen`` (a token of the citizen identity provider), never a
hub principal's token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from exchange.core.deps import AppSettings, DbSession
from exchange.core.inputs import Id, Seq
from exchange.core.pagination import Page, Pagination
from exchange.grants.service import china_today
from exchange.objections import decisions
from exchange.objections import service as objections
from exchange.objections.schemas import CitizenObjectionCreate, Closing, Status
from exchange.tracker import service
from exchange.tracker.deps import CurrentCitizen
from exchange.tracker.rules import reader_key
from exchange.tracker.schemas import AccessRead, CitizenObjectionRead

router = APIRouter(prefix="/v1/tracker", tags=["tracker"])


def read_recorder(request: Request) -> service.ReadRecorder:
    """Return the recorder of this request's tracker reads."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    return service.ReadRecorder(
        reader_key(secret),
        request.app.state.sessionmaker,
        getattr(request.state, "request_id", None),
    )


Recorder = Annotated[service.ReadRecorder, Depends(read_recorder)]


@router.get("/accesses")
def list_accesses(
    session: DbSession,
    citizen: CurrentCitizen,
    recorder: Recorder,
    page: Pagination,
    since: Annotated[datetime | None, Query(alias="from", description="at or after")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="before")] = None,
) -> Page[AccessRead]:
    """List every access to your records: who, which system, when, which items, why."""
    return service.list_accesses(
        session, citizen=citizen, page=page, since=since, until=until, recorder=recorder
    )


@router.get("/accesses/{seq}")
def get_access(
    seq: Seq, session: DbSession, citizen: CurrentCitizen, recorder: Recorder
) -> AccessRead:
    """Show one access to your records."""
    return service.get_access(session, citizen=citizen, seq=seq, recorder=recorder)


@router.post("/objections", status_code=status.HTTP_201_CREATED)
def raise_objection(
    body: CitizenObjectionCreate, session: DbSession, citizen: CurrentCitizen, settings: AppSettings
) -> CitizenObjectionRead:
    """Object to items of your record shown by one of your accesses (数据异议)."""
    objection = objections.raise_for_citizen(
        session,
        id_number=citizen.id_number,
        seq=body.seq,
        items=body.items,
        description=body.description,
        proposed_correction=body.proposed_correction,
        settings=settings,
    )
    return service.to_citizen_read(objection, china_today())


@router.get("/objections")
def list_objections(
    session: DbSession,
    citizen: CurrentCitizen,
    recorder: Recorder,
    page: Pagination,
    status: Status | None = None,
) -> Page[CitizenObjectionRead]:
    """List your objections and the providers' answers, newest first."""
    return service.list_objections(
        session, citizen=citizen, page=page, status=status, recorder=recorder
    )


@router.get("/objections/{objection_id}")
def get_objection(
    objection_id: Id, session: DbSession, citizen: CurrentCitizen, recorder: Recorder
) -> CitizenObjectionRead:
    """Show one of your objections and its answer."""
    return service.get_objection(
        session, citizen=citizen, objection_id=objection_id, recorder=recorder
    )


@router.post("/objections/{objection_id}/close")
def close_objection(
    objection_id: Id, session: DbSession, citizen: CurrentCitizen, body: Closing | None = None
) -> CitizenObjectionRead:
    """Close your objection: accept the answer, or withdraw it while it is open."""
    objection = decisions.close_for_citizen(
        session,
        objection_id=objection_id,
        id_number=citizen.id_number,
        reason=body.reason if body else None,
    )
    return service.to_citizen_read(objection, china_today())
