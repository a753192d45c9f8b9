"""``Idempotency-Key`` for submissions: one key of one caller does its work once.

A key is claimed by inserting an ``IdempotencyRecord`` and committing before the work
starts; the unique constraint on (caller, key) makes the claim safe across threads and hub
processes: of concurrent claims exactly one inserts, the others fail the constraint, roll
back and read the winner's record. Then:

- same payload hash, done      → replay the stored response;
- a different payload hash     → 422 naming ``Idempotency-Key`` (a key names one request);
- same payload hash, in flight → 409 (retry later), unless the record has not moved for
  ``stale_after_seconds`` (the process that claimed it crashed): then it is taken over
  by a conditional update, which again only one claimant wins.

``complete`` stores the response to replay; ``release`` forgets the key when the work
failed, so the client may retry with it.

One key makes at most one application, for ever. Each claim carries a fencing ``token``
(the ``updated_at`` it wrote): the owner writes the application's id onto the record in
the transaction that creates the application (``attach``), and stores the answer in the
transaction that finishes it (``complete_in``), each only while the record still carries
its token (``guard``). A takeover of a stale key therefore learns the application the
crashed process made (``Claim.application_id``) and finishes that one; a process that was
only slow, not dead, finds its token gone and answers 409 (``Superseded``) instead of
writing a second time. ``abandoned`` lists the stale keys a background worker may take
over (``take_over``) when their client never comes back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from exchange.applications.models import IdempotencyRecord
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, InvalidInput

log = logging.getLogger("datarun.applications.idempotency")

HEADER = "Idempotency-Key"
KEY_MAX_CHARS = 255
IN_FLIGHT, DONE = "in_flight", "done"
_CLAIM_ATTEMPTS = 4


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: new work (``replay`` False) or a stored response to replay."""

    record_id: int
    replay: bool
    status: int | None
    body: str | None
    # The application a crashed owner already made under this key (finish it, not a new one).
    application_id: int | None = None
    # The fencing token of this ownership (the record's updated_at); None for a replay.
    token: datetime | None = field(default=None, compare=False, repr=False)


class Superseded(Conflict):
    """The key was taken over (its owner looked dead) or finished meanwhile: 409, retry."""


def request_sha256(payload: Any) -> str:
    """Return the SHA-256 of the payload's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return sha256(text.encode("utf-8")).hexdigest()


def key_problems(key: str | None) -> list[dict[str, Any]]:
    """Return the problems of an ``Idempotency-Key`` value: required, 1..255 printable chars."""
    if key is None or not key.strip():
        return [{"field": HEADER, "message": f"the {HEADER} header is required"}]
    if len(key) > KEY_MAX_CHARS:
        return [
            {"field": HEADER, "message": f"{HEADER} must be at most {KEY_MAX_CHARS} characters"}
        ]
    if not (key.isascii() and key.isprintable()) or key != key.strip():
        return [
            {
                "field": HEADER,
                "message": f"{HEADER} must be printable ASCII without leading or trailing spaces",
            }
        ]
    return []


def _in_flight(key: str) -> Conflict:
    return Conflict(
        f"a request with {HEADER} {key!r} is still being processed; retry it later",
        headers={"Retry-After": "1"},
    )


def _superseded() -> Superseded:
    return Superseded(
        f"this request's {HEADER} was taken over by a later request with the same key; "
        "retry it to get that request's answer",
        headers={"Retry-After": "1"},
    )


def claim(
    factory: sessionmaker[Session],
    *,
    caller: str,
    key: str,
    request_sha256: str,
    stale_after_seconds: float,
    now: datetime | None = None,
) -> Claim:
    """Claim ``key`` for ``caller`` (committing): new work, a replay, or raise 409/422."""
    for _ in range(_CLAIM_ATTEMPTS):
        at = now or utcnow()
        with factory() as session:
            record = IdempotencyRecord(
                caller=caller,
                key=key,
                request_sha256=request_sha256,
                state=IN_FLIGHT,
                created_at=at,
                updated_at=at,
            )
            session.add(record)
            try:
                session.commit()
                return Claim(record_id=record.id, replay=False, status=None, body=None, token=at)
            except IntegrityError:
                session.rollback()  # the key exists: read the record that won
            found = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                )
            ).one_or_none()
            if found is None:
                continue  # released between our insert and our read: try again
            if found.request_sha256 != request_sha256:
                raise InvalidInput(
                    f"{HEADER} {key!r} was already used for a different request",
                    errors=[
                        {
                            "field": HEADER,
                            "message": "already used with a different payload; use a new key",
                        }
                    ],
                )
            if found.state == DONE:
                return Claim(
                    record_id=found.id,
                    replay=True,
                    status=found.response_status,
                    body=found.response_body,
                )
            cutoff = at - timedelta(seconds=stale_after_seconds)
            if found.updated_at > cutoff:
                raise _in_flight(key)
            # Stale: its process crashed. Take it over only if nobody touched it since.
            if _take(session, found.id, cutoff=cutoff, at=at):
                log.warning(
                    "took over a stale in-flight %s %r of %s (claimed %s, application %s)",
                    HEADER,
                    key,
                    caller,
                    found.created_at.isoformat(),
                    found.application_id,
                )
                return Claim(
                    record_id=found.id,
                    replay=False,
                    status=None,
                    body=None,
                    application_id=found.application_id,
                    token=at,
                )
            # Someone else took it over or completed it just now: look again.
    raise _in_flight(key)


def complete(
    factory: sessionmaker[Session],
    record_id: int,
    *,
    status: int,
    body: str,
    application_id: int | None,
) -> None:
    """Store the response to replay for the key (committing); the key is then done."""
    with factory() as session:
        done = session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.state == IN_FLIGHT)
            .values(
                state=DONE,
                response_status=status,
                response_body=body,
                application_id=application_id,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
    if getattr(done, "rowcount", 0) != 1:
        log.warning(
            "idempotency record %s was not in flight any more; response not stored", record_id
        )


def release(factory: sessionmaker[Session], record_id: int) -> None:
    """Forget an in-flight key whose work failed (committing), so the client may retry it."""
    with factory() as session:
        session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.state == IN_FLIGHT)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _take(session: Session, record_id: int, *, cutoff: datetime, at: datetime) -> bool:
    """Take a stale in-flight record over (committing): only if nobody touched it since."""
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.state == IN_FLIGHT,
            IdempotencyRecord.updated_at <= cutoff,
        )
        .values(updated_at=at)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return getattr(taken, "rowcount", 0) == 1


# ---- the owner's fenced writes (inside the caller's transaction) --------------------------


def _fenced(record_id: int, token: datetime | None) -> Any:
    if token is None:
        raise ValueError("a replayed claim owns no work")
    return update(IdempotencyRecord).where(
        IdempotencyRecord.id == record_id,
        IdempotencyRecord.state == IN_FLIGHT,
        IdempotencyRecord.updated_at == token,
    )


def guard(session: Session, claim: Claim) -> None:
    """Lock the claim's record in the caller's transaction; raise Superseded if not ours."""
    # updated_at is written back unchanged (explicitly: its onupdate would move the token).
    done = session.execute(
        _fenced(claim.record_id, claim.token)
        .values(updated_at=claim.token)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise _superseded()


def attach(session: Session, claim: Claim, application_id: int) -> None:
    """Name the claim's application in the caller's transaction (the one creating it)."""
    done = session.execute(
        _fenced(claim.record_id, claim.token)
        .values(application_id=application_id, updated_at=claim.token)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise _superseded()


def complete_in(
    session: Session, claim: Claim, *, status: int, body: str, application_id: int
) -> None:
    """Store the answer in the caller's transaction (the one finishing the application)."""
    done = session.execute(
        _fenced(claim.record_id, claim.token)
        .values(
            state=DONE,
            response_status=status,
            response_body=body,
            application_id=application_id,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise _superseded()


def give_up(session: Session, claim: Claim) -> tuple[bool, int | None]:
    """Forget the claim's key in the caller's transaction if it is still ours.

    Return (ours, the application id it names). A key that is not ours any more is left
    alone, and so is its application: it belongs to whoever holds the key now.
    """
    try:
        guard(session, claim)
    except Superseded:
        return False, None
    application_id = session.scalar(
        select(IdempotencyRecord.application_id).where(IdempotencyRecord.id == claim.record_id)
    )
    session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim.record_id)
        .execution_options(synchronize_session=False)
    )
    return True, application_id


# ---- keys whose client never came back ----------------------------------------------------


@dataclass(frozen=True)
class Abandoned:
    """An in-flight key nobody has touched for too long: its owner died."""

    record_id: int
    caller: str
    application_id: int | None


def abandoned(
    factory: sessionmaker[Session], *, stale_after_seconds: float, now: datetime, limit: int
) -> list[Abandoned]:
    """Return in-flight keys older than ``stale_after_seconds``, oldest first."""
    cutoff = now - timedelta(seconds=stale_after_seconds)
    with factory() as session:
        rows = session.execute(
            select(IdempotencyRecord.id, IdempotencyRecord.caller, IdempotencyRecord.application_id)
            .where(IdempotencyRecord.state == IN_FLIGHT, IdempotencyRecord.updated_at <= cutoff)
            .order_by(IdempotencyRecord.updated_at, IdempotencyRecord.id)
            .limit(limit)
        )
        return [Abandoned(int(r[0]), str(r[1]), r[2]) for r in rows]


def take_over(
    factory: sessionmaker[Session], found: Abandoned, *, stale_after_seconds: float, now: datetime
) -> Claim | None:
    """Take an abandoned key over (committing), as a resubmission would; None if beaten."""
    cutoff = now - timedelta(seconds=stale_after_seconds)
    with factory() as session:
        if not _take(session, found.record_id, cutoff=cutoff, at=now):
            return None
        current = session.get(IdempotencyRecord, found.record_id)
        if current is None:
            return None
        return Claim(
            record_id=found.record_id,
            replay=False,
            status=None,
            body=None,
            application_id=current.application_id,
            token=now,
        )
