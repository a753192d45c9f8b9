"""Queries of applications (SQLAlchemy 2 ``select()``/``update()`` only here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from catalogs.onethings.models import OneThing
from exchange.applications.models import (
    Application,
    ApplicationConflict,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationPart,
    IdempotencyRecord,
)

OPEN_STATUSES = ("accepted", "in_review", "returned")  # retries run for these only


def one_thing_by_code(session: Session, code: str) -> OneThing | None:
    """Return the one-thing with ``code`` (materials and service items loaded), or None."""
    return session.scalars(select(OneThing).where(OneThing.code == code)).first()


def one_thing_name(session: Session, one_thing_id: int) -> str:
    """Return the name of a one-thing."""
    return session.scalar(select(OneThing.name).where(OneThing.id == one_thing_id)) or ""


def by_number(session: Session, number: str) -> Application | None:
    """Return the application with ``number`` (materials and parts loaded), or None."""
    return session.scalars(select(Application).where(Application.number == number)).first()


def by_id(session: Session, application_id: int) -> Application | None:
    """Return the application with ``application_id``, or None."""
    return session.get(Application, application_id)


def window_of(session: Session, number: str) -> str | None:
    """Return the window department code of the application ``number``, or None."""
    return session.scalar(select(Application.window_department).where(Application.number == number))


def part_departments(session: Session, application_id: int) -> set[str]:
    """Return the departments holding a part of an application."""
    return set(
        session.scalars(
            select(ApplicationPart.department).where(
                ApplicationPart.application_id == application_id
            )
        )
    )


def events_of(session: Session, application_id: int) -> list[ApplicationEvent]:
    """Return an application's events in the order they happened."""
    return list(
        session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application_id)
            .order_by(ApplicationEvent.id)
        )
    )


def conflicts_of(session: Session, application_id: int) -> list[ApplicationConflict]:
    """Return an application's conflicts in the order they were found."""
    return list(
        session.scalars(
            select(ApplicationConflict)
            .where(ApplicationConflict.application_id == application_id)
            .order_by(ApplicationConflict.id)
        )
    )


def _of_department(department: str) -> ColumnElement[bool]:
    holds_part = exists().where(
        ApplicationPart.application_id == Application.id, ApplicationPart.department == department
    )
    return or_(Application.window_department == department, holds_part)


def list_for_department(
    session: Session, *, department: str, status: str | None, offset: int, limit: int
) -> tuple[list[Application], int]:
    """Return one page of the applications a department accepted or holds a part of."""
    # A submission not answered yet (its key in flight) is not listed: nobody holds its
    # number, and its materials are still being pulled (or its process died: see retry).
    unanswered = exists().where(
        IdempotencyRecord.application_id == Application.id,
        IdempotencyRecord.state == "in_flight",
    )
    where: list[ColumnElement[bool]] = [_of_department(department), ~unanswered]
    if status is not None:
        where.append(Application.status == status)
    total = session.scalar(select(func.count()).select_from(Application).where(*where)) or 0
    rows = session.scalars(
        select(Application)
        .where(*where)
        .order_by(Application.created_at.desc(), Application.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total)


def delete_application(session: Session, application_id: int) -> None:
    """Delete an application and everything it holds (its submission failed)."""
    for table, column in (
        (ApplicationConflict, ApplicationConflict.application_id),
        (ApplicationEvent, ApplicationEvent.application_id),
        (ApplicationPart, ApplicationPart.application_id),
        (ApplicationMaterial, ApplicationMaterial.application_id),
    ):
        session.execute(
            delete(table)
            .where(column == application_id)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        delete(Application)
        .where(Application.id == application_id)
        .execution_options(synchronize_session=False)
    )


def due_materials(
    session: Session, *, now: datetime, limit: int
) -> list[tuple[int, int, str | None]]:
    """Return (material id, attempts, resource code) of unavailable materials due for a
    retry, oldest first."""
    rows = session.execute(
        select(
            ApplicationMaterial.id, ApplicationMaterial.attempts, ApplicationMaterial.resource_code
        )
        .join(Application, Application.id == ApplicationMaterial.application_id)
        .where(
            ApplicationMaterial.status == "unavailable",
            ApplicationMaterial.next_attempt_at <= now,
            Application.status.in_(OPEN_STATUSES),
        )
        .order_by(ApplicationMaterial.next_attempt_at, ApplicationMaterial.id)
        .limit(limit)
    )
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def claim_material(
    session: Session, material_id: int, *, seen_attempts: int, lease_until: datetime
) -> bool:
    """Take one retry of a material (optimistic: only if nobody took it since we looked)."""
    result = session.execute(
        update(ApplicationMaterial)
        .where(
            ApplicationMaterial.id == material_id,
            ApplicationMaterial.status == "unavailable",
            ApplicationMaterial.attempts == seen_attempts,
        )
        .values(attempts=seen_attempts + 1, next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def material(session: Session, material_id: int) -> ApplicationMaterial | None:
    """Return one material of an application, or None."""
    return session.get(ApplicationMaterial, material_id)


def material_counts(session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Return, per application id, its materials counted by status."""
    if not ids:
        return {}
    rows = session.execute(
        select(ApplicationMaterial.application_id, ApplicationMaterial.status, func.count())
        .where(ApplicationMaterial.application_id.in_(list(ids)))
        .group_by(ApplicationMaterial.application_id, ApplicationMaterial.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for application_id, status, n in rows:
        counts.setdefault(int(application_id), {})[str(status)] = int(n)
    return counts
