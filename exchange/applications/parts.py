"""Parts and history (并联办理的分件与办件记录): one part per department, one event per step.

``open_parts`` hands an application in review to each department that holds one of the
one-thing's service items; ``record_event`` writes one line of the application's history.
Both run in the caller's transaction (they only add and flush); the core helper calls them
when a case file is confirmed (accepted → in_review), the back office when the window
resubmits a returned application (returned → in_review).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.onethings.models import OneThing
from exchange.applications.models import Application, ApplicationEvent, ApplicationPart
from exchange.core.errors import NotFound


def record_event(
    session: Session,
    application: Application,
    *,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    **detail: Any,
) -> None:
    """Add one event (time, actor, action, statuses, reason) to an application's history."""
    session.add(
        ApplicationEvent(
            application_id=application.id,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            detail=detail,
        )
    )


def open_parts(session: Session, application: Application, *, actor: str) -> list[ApplicationPart]:
    """Open (or reopen) one pending part per service item of the application's one-thing.

    The department of a part is the service item's department. A part that already
    exists keeps its decision when approved (or still pending); a rejected one reopens as
    pending. The application's own status is the caller's to change (with its event).
    Returns every part of the application, in service-item order.
    """
    one_thing = session.scalars(
        select(OneThing).where(OneThing.id == application.one_thing_id)
    ).first()
    if one_thing is None:
        raise NotFound(f"one-thing {application.one_thing_code} not found")
    existing = {part.service_item: part for part in application.parts}
    for item in sorted(one_thing.service_items, key=lambda s: s.code):
        part = existing.get(item.code)
        if part is None:
            part = ApplicationPart(
                application_id=application.id,
                department=item.department.code,
                service_item=item.code,
                status="pending",
            )
            application.parts.append(part)
            existing[item.code] = part
            session.flush()
            record_event(
                session,
                application,
                actor=actor,
                action="part_opened",
                part_id=part.id,
                department=part.department,
                service_item=part.service_item,
            )
        elif part.status == "rejected":
            previous_reason = part.reason
            part.status = "pending"
            part.reason = None
            part.decided_by = None
            part.decided_at = None
            session.flush()
            record_event(
                session,
                application,
                actor=actor,
                action="part_reopened",
                part_id=part.id,
                department=part.department,
                service_item=part.service_item,
                previous_reason=previous_reason,
            )
    session.flush()
    return sorted(existing.values(), key=lambda p: p.service_item)
