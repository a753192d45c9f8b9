"""HTTP routes for service items (办事事项), one-things (一件事) and the elimination report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from catalogs.onethings import service
from catalogs.onethings.rules import SupplyChecks
from catalogs.onethings.schemas import (
    DEPARTMENT_CODE,
    EliminationReport,
    OneThingCreate,
    OneThingRead,
    OneThingUpdate,
    ServiceItemCreate,
    ServiceItemRead,
)
from exchange.core.deps import DbSession
from exchange.core.pagination import Page, Pagination
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["one-things"])

DepartmentFilter = Annotated[
    str | None, Query(pattern=DEPARTMENT_CODE, description="a department code")
]


def supply_checks(request: Request, session: DbSession) -> SupplyChecks:
    """Return the hub's supply checks (connector bindings, grants) on the request's session."""
    checks: SupplyChecks = request.app.state.supply_checks(session)
    return checks


Supply = Annotated[SupplyChecks, Depends(supply_checks)]


@router.get("/service-items", response_model=Page[ServiceItemRead])
def list_service_items(
    session: DbSession, _: CurrentPrincipal, page: Pagination, department: DepartmentFilter = None
) -> Page[ServiceItemRead]:
    """List service items (办事事项), optionally of one department."""
    return service.list_service_items(session, department=department, page=page)


@router.post("/service-items", response_model=ServiceItemRead, status_code=status.HTTP_201_CREATED)
def create_service_item(
    body: ServiceItemCreate, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> ServiceItemRead:
    """Add a service item handled by a department (its catalog_admin or a province_admin)."""
    return service.create_service_item(session, data=body, actor=principal, authz=authz)


@router.get("/service-items/{code}", response_model=ServiceItemRead)
def get_service_item(code: str, session: DbSession, _: CurrentPrincipal) -> ServiceItemRead:
    """Show one service item."""
    return service.get_service_item(session, code=code)


@router.get("/one-things", response_model=Page[OneThingRead])
def list_one_things(
    session: DbSession,
    _: CurrentPrincipal,
    page: Pagination,
    lead_department: DepartmentFilter = None,
) -> Page[OneThingRead]:
    """List one-things (一件事) with their materials, optionally by lead department."""
    return service.list_one_things(session, lead_department=lead_department, page=page)


@router.post("/one-things", response_model=OneThingRead, status_code=status.HTTP_201_CREATED)
def create_one_thing(
    body: OneThingCreate, session: DbSession, principal: CurrentPrincipal, authz: Authz
) -> OneThingRead:
    """Add a one-thing with its service items and materials (lead department's admins)."""
    return service.create_one_thing(session, data=body, actor=principal, authz=authz)


@router.get("/one-things/{code}", response_model=OneThingRead)
def get_one_thing(code: str, session: DbSession, _: CurrentPrincipal) -> OneThingRead:
    """Show one one-thing with its service items and materials."""
    return service.get_one_thing(session, code=code)


@router.put("/one-things/{code}", response_model=OneThingRead)
def update_one_thing(
    code: str,
    body: OneThingUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    authz: Authz,
) -> OneThingRead:
    """Replace a one-thing's name, description, service items and materials."""
    return service.update_one_thing(session, code=code, data=body, actor=principal, authz=authz)


@router.get("/one-things/{code}/elimination-report", response_model=EliminationReport)
def elimination_report(
    code: str,
    session: DbSession,
    _: CurrentPrincipal,
    supply: Supply,
    consumer: Annotated[
        str | None,
        Query(
            pattern=DEPARTMENT_CODE,
            description="the consumer department (the lead department by default)",
        ),
    ] = None,
) -> EliminationReport:
    """材料免提交: which materials the hub pulls and which the applicant must still bring."""
    return service.elimination_report(session, code=code, consumer=consumer, supply=supply)
