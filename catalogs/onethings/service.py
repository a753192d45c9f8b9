"""Service items (办事事项), one-things (一件事) and the material-elimination report.

``authz`` None means a trusted operator context (CLI, demo seed); with an authorizer, writes
need ``onething:write`` in the department concerned (the service item's department, or the
one-thing's lead department). Reads need only an authenticated caller, checked by the router.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalogs.onethings import repository as repo
from catalogs.onethings.models import Material, OneThing, ServiceItem
from catalogs.onethings.rules import ResourceFacts, SupplyChecks, eliminate, material_problems
from catalogs.onethings.schemas import (
    EliminationReport,
    MaterialIn,
    MaterialRead,
    OneThingCreate,
    OneThingRead,
    OneThingUpdate,
    ServiceItemCreate,
    ServiceItemRead,
)
from catalogs.resources.models import Resource
from exchange.core.db import utcnow
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal


def _require_write(authz: Authorizer | None, actor: Principal | None, department: str) -> None:
    if authz is None:
        return
    if actor is None:
        raise ValueError("an authorizer was given without an actor")
    authz.require(actor, obj="onething", act="write", domain=department)


def service_item_read(item: ServiceItem) -> ServiceItemRead:
    """Return the API shape of a service item."""
    return ServiceItemRead(
        code=item.code,
        name=item.name,
        department=item.department.code,
        department_name=item.department.name,
        description=item.description,
        created_at=item.created_at,
    )


def one_thing_read(one_thing: OneThing) -> OneThingRead:
    """Return the API shape of a one-thing with its materials."""
    return OneThingRead(
        code=one_thing.code,
        name=one_thing.name,
        description=one_thing.description,
        lead_department=one_thing.lead_department.code,
        lead_department_name=one_thing.lead_department.name,
        service_items=[item.code for item in one_thing.service_items],
        materials=[_material_read(m) for m in one_thing.materials],
        created_at=one_thing.created_at,
        updated_at=one_thing.updated_at,
    )


def _material_read(material: Material) -> MaterialRead:
    return MaterialRead(
        code=material.code,
        name=material.name,
        kind=material.kind,
        service_item=material.service_item.code if material.service_item else None,
        resource_code=material.resource_code,
        items=list(material.items),
        key_identifier=material.key_identifier,
        minor=material.minor,
        commitment_allowed=material.commitment_allowed,
        description=material.description,
    )


def create_service_item(
    session: Session,
    *,
    data: ServiceItemCreate,
    actor: Principal | None,
    authz: Authorizer | None,
) -> ServiceItemRead:
    """Add a service item handled by ``data.department``."""
    department = repo.department_by_code(session, data.department)
    if department is None:
        raise InvalidInput(
            f"unknown department {data.department}",
            errors=[{"field": "department", "message": f"no department {data.department}"}],
            message_key="refusal.catalogue.unknown_department",
            message_params={"code": data.department},
        )
    _require_write(authz, actor, department.code)
    if repo.service_item_by_code(session, data.code) is not None:
        raise Conflict(
            f"service item {data.code} already exists",
            errors=[{"field": "code", "message": "already used"}],
            message_key="refusal.catalogue.service_item_exists",
            message_params={"code": data.code},
        )
    item = ServiceItem(
        code=data.code, name=data.name, department=department, description=data.description
    )
    session.add(item)
    session.flush()
    return service_item_read(item)


def get_service_item(session: Session, *, code: str) -> ServiceItemRead:
    """Return the service item with ``code``."""
    item = repo.service_item_by_code(session, code)
    if item is None:
        raise NotFound(
            f"no service item {code}",
            message_key="refusal.catalogue.no_service_item",
            message_params={"code": code},
        )
    return service_item_read(item)


def list_service_items(
    session: Session, *, department: str | None, page: PageParams
) -> Page[ServiceItemRead]:
    """Return one page of service items, optionally of one department."""
    rows, total = repo.list_service_items(
        session, department=department, offset=page.offset, limit=page.size
    )
    return Page[ServiceItemRead](
        items=[service_item_read(r) for r in rows], total=total, page=page.page, size=page.size
    )


def _resolve(
    session: Session, data: OneThingUpdate
) -> tuple[list[ServiceItem], list[dict[str, Any]]]:
    """Look up the service items ``data`` names; return them and every problem found."""
    problems = material_problems(data.materials, data.service_items)
    found = repo.service_items_by_codes(session, data.service_items)
    for i, code in enumerate(data.service_items):
        if code not in found:
            problems.append({"field": f"service_items[{i}]", "message": f"no service item {code}"})
    items = [found[c] for c in dict.fromkeys(data.service_items) if c in found]
    return items, problems


def _materials(data: list[MaterialIn], items: list[ServiceItem]) -> list[Material]:
    by_code = {item.code: item for item in items}
    return [
        Material(
            position=position,
            code=m.code,
            name=m.name,
            kind=m.kind,
            service_item=by_code[m.service_item] if m.service_item else None,
            resource_code=m.resource_code,
            items=list(m.items),
            key_identifier=m.key_identifier,
            minor=m.minor,
            commitment_allowed=m.commitment_allowed,
            description=m.description,
        )
        for position, m in enumerate(data)
    ]


def _raise_problems(problems: list[dict[str, Any]]) -> None:
    """Refuse a one-thing (422) naming every field with a problem, if there is any."""
    if problems:
        fields = ", ".join(p["field"] for p in problems)
        raise InvalidInput(
            f"invalid one-thing: {fields}",
            errors=problems,
            message_key="refusal.catalogue.invalid_one_thing",
            message_params={"fields": fields},
        )


def create_one_thing(
    session: Session,
    *,
    data: OneThingCreate,
    actor: Principal | None,
    authz: Authorizer | None,
) -> OneThingRead:
    """Add a one-thing with its service items and materials, all or nothing."""
    lead = repo.department_by_code(session, data.lead_department)
    if lead is None:
        raise InvalidInput(
            f"unknown lead department {data.lead_department}",
            errors=[{"field": "lead_department", "message": "no such department"}],
            message_key="refusal.catalogue.unknown_lead_department",
            message_params={"code": data.lead_department},
        )
    _require_write(authz, actor, lead.code)
    if repo.one_thing_by_code(session, data.code) is not None:
        raise Conflict(
            f"one-thing {data.code} already exists",
            errors=[{"field": "code", "message": "already used"}],
            message_key="refusal.catalogue.one_thing_exists",
            message_params={"code": data.code},
        )
    items, problems = _resolve(session, data)
    _raise_problems(problems)
    one_thing = OneThing(
        code=data.code,
        name=data.name,
        description=data.description,
        lead_department=lead,
        service_items=items,
        materials=_materials(data.materials, items),
    )
    session.add(one_thing)
    session.flush()
    return one_thing_read(one_thing)


def update_one_thing(
    session: Session,
    *,
    code: str,
    data: OneThingUpdate,
    actor: Principal | None,
    authz: Authorizer | None,
) -> OneThingRead:
    """Replace a one-thing's name, description, service items and materials."""
    one_thing = repo.one_thing_by_code(session, code)
    if one_thing is None:
        raise NotFound(
            f"no one-thing {code}",
            message_key="refusal.catalogue.no_one_thing",
            message_params={"code": code},
        )
    _require_write(authz, actor, one_thing.lead_department.code)
    items, problems = _resolve(session, data)
    _raise_problems(problems)
    one_thing.name = data.name
    one_thing.description = data.description
    one_thing.service_items = items
    # Delete the old materials before inserting the new: (one_thing_id, code) is unique and
    # the unit of work would otherwise insert first.
    one_thing.materials.clear()
    session.flush()
    one_thing.materials = _materials(data.materials, items)
    one_thing.updated_at = utcnow()
    session.flush()
    return one_thing_read(one_thing)


def get_one_thing(session: Session, *, code: str) -> OneThingRead:
    """Return the one-thing with ``code``."""
    one_thing = repo.one_thing_by_code(session, code)
    if one_thing is None:
        raise NotFound(
            f"no one-thing {code}",
            message_key="refusal.catalogue.no_one_thing",
            message_params={"code": code},
        )
    return one_thing_read(one_thing)


def list_one_things(
    session: Session, *, lead_department: str | None, page: PageParams
) -> Page[OneThingRead]:
    """Return one page of one-things, optionally led by one department."""
    rows, total = repo.list_one_things(
        session, lead_department=lead_department, offset=page.offset, limit=page.size
    )
    return Page[OneThingRead](
        items=[one_thing_read(r) for r in rows], total=total, page=page.page, size=page.size
    )


def _facts(resource: Resource) -> ResourceFacts:
    return ResourceFacts(
        code=resource.code,
        name=resource.name,
        provider=resource.provider.code,
        status=resource.status,
        share_type=resource.share_type,
        legal_basis=resource.legal_basis,
        item_codes=frozenset(item.code for item in resource.items),
    )


def elimination_report(
    session: Session, *, code: str, consumer: str | None, supply: SupplyChecks
) -> EliminationReport:
    """Report which materials the hub pulls for ``consumer`` (the lead department by default)."""
    one_thing = repo.one_thing_by_code(session, code)
    if one_thing is None:
        raise NotFound(
            f"no one-thing {code}",
            message_key="refusal.catalogue.no_one_thing",
            message_params={"code": code},
        )
    if consumer is None:
        consumer = one_thing.lead_department.code
    elif repo.department_by_code(session, consumer) is None:
        raise InvalidInput(
            f"unknown consumer department {consumer}",
            errors=[{"field": "consumer", "message": f"no department {consumer}"}],
            message_key="refusal.catalogue.unknown_consumer",
            message_params={"code": consumer},
        )
    materials = [_material_read(m) for m in one_thing.materials]
    codes = [m.resource_code for m in materials if m.kind == "pullable" and m.resource_code]
    resources = {c: _facts(r) for c, r in repo.resources_by_codes(session, codes).items()}
    return eliminate(materials, resources, supply, consumer, one_thing=one_thing.code)
