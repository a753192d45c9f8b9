"""HTTP routes for departments (政务部门)."""

from __future__ import annotations

from fastapi import APIRouter, status

from catalogs.departments import service
from catalogs.departments.schemas import DepartmentCreate, DepartmentRead
from exchange.core.deps import DbSession
from exchange.core.pagination import Page, Pagination
from exchange.identity.deps import Authz, CurrentPrincipal

router = APIRouter(prefix="/v1/departments", tags=["departments"])


@router.get("")
def list_departments(
    session: DbSession, principal: CurrentPrincipal, page: Pagination
) -> Page[DepartmentRead]:
    """List departments ordered by code."""
    rows, total = service.list_departments(session, page=page)
    items = [service.to_read(d) for d in rows]
    return Page(items=items, total=total, page=page.page, size=page.size)


@router.get("/{code}")
def get_department(session: DbSession, principal: CurrentPrincipal, code: str) -> DepartmentRead:
    """Show one department."""
    return service.to_read(service.get_department(session, code=code))


@router.post("", status_code=status.HTTP_201_CREATED)
def create_department(
    session: DbSession, principal: CurrentPrincipal, authz: Authz, data: DepartmentCreate
) -> DepartmentRead:
    """Register a department (province administrators only)."""
    authz.require(principal, obj="department", act="write")
    return service.to_read(service.create_department(session, data=data))
