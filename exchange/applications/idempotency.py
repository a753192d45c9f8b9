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
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
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
                return Claim(record_id=record.id, replay=False, status=None, body=None)
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
            taken = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.id == found.id,
                    IdempotencyRecord.state == IN_FLIGHT,
                    IdempotencyRecord.updated_at <= cutoff,
                )
                .values(updated_at=at)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if getattr(taken, "rowcount", 0) == 1:
                log.warning(
                    "took over a stale in-flight %s %r of %s (claimed %s)",
                    HEADER,
                    key,
                    caller,
                    found.created_at.isoformat(),
                )
                return Claim(record_id=found.id, replay=False, status=None, body=None)
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
