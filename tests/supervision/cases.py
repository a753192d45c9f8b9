"""Applications made directly through the models, the way the core service leaves them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogs.onethings.models import OneThing
from exchange.applications.models import Application, ApplicationMaterial
from exchange.core.db import utcnow
from exchange.identity.tokens import issue_access_token

WINDOW = {"esf-transfer": "zj-zrzyt", "newborn": "zj-wjw", "company-start": "zj-scjgj"}


def create_application(
    session: Session,
    *,
    one_thing: str = "esf-transfer",
    status: str = "accepted",
    visits: int = 1,
    accepted_at: datetime | None = None,
    completed_at: datetime | None = None,
    materials: dict[str, str] | None = None,
    **fields: Any,
) -> Application:
    """Add an application of a demo one-thing with its materials (code → status); flush."""
    thing = session.scalars(select(OneThing).where(OneThing.code == one_thing)).one()
    accepted = accepted_at or utcnow()
    session.flush()
    next_id = (session.scalar(select(Application.id).order_by(Application.id.desc())) or 0) + 1
    window = WINDOW.get(one_thing, thing.lead_department.code)
    application = Application(
        number=f"BJ330000-{accepted:%Y%m%d}-{next_id:06d}",
        one_thing_code=thing.code,
        one_thing_id=thing.id,
        window_department=window,
        window_system=f"{window}-window",
        applicant_kind="person",
        applicant_name="张小明",
        identifiers={"resident_id": "330106199001011234"},
        consent_to_fetch=True,
        status=status,
        visits=visits,
        accepted_at=accepted,
        confirmed_at=accepted + timedelta(minutes=1) if status != "accepted" else None,
        completed_at=completed_at,
        created_at=accepted,
        **fields,
    )
    statuses = materials or {}
    for position, material in enumerate(thing.materials):
        default = "fetched" if material.kind == "pullable" else "submitted"
        application.materials.append(
            ApplicationMaterial(
                position=position,
                material_code=material.code,
                name=material.name,
                kind=material.kind,
                service_item=material.service_item.code if material.service_item else None,
                resource_code=material.resource_code,
                items=list(material.items),
                status=statuses.get(material.code, default),
            )
        )
    session.add(application)
    session.flush()
    return application


# Demo people and systems (exchange/demo/province.json): name → (department, roles).
PEOPLE = {
    "tax-admin": ("zj-tax", ["catalog_admin"]),
    "zjt-admin": ("zj-zjt", ["catalog_admin"]),
    "zrzyt-admin": ("zj-zrzyt", ["catalog_admin"]),
    "gat-admin": ("zj-gat", ["catalog_admin"]),
    "province-admin": ("zj-dsj", ["province_admin"]),
    "auditor": ("zj-dsj", ["auditor"]),
}


def headers(app: FastAPI, who: str) -> dict[str, str]:
    """Return the Authorization header of a demo person (username) or system (client id)."""
    if who in PEOPLE:
        department, roles = PEOPLE[who]
        kind, subject = "user", f"user:{who}"
    else:
        department, roles = who.rsplit("-", 1)[0], ["system"]
        kind, subject = "system", who
    token, _ = issue_access_token(
        app.state.keyring,
        app.state.settings,
        subject=subject,
        kind=kind,
        department=department,
        roles=roles,
        client_id=who if kind == "system" else None,
    )
    return {"Authorization": f"Bearer {token}"}
