"""Department operations: create, read, list."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalogs.departments import repository
from catalogs.departments.models import Department
from catalogs.departments.schemas import DepartmentCreate, DepartmentRead
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.pagination import PageParams


def create_department(session: Session, *, data: DepartmentCreate) -> Department:
    """Create a department; its parent must exist and its code and USCC be unused."""
    if repository.by_code(session, data.code) is not None:
        raise Conflict(
            f"department {data.code} already exists",
            code=data.code,
            message_key="refusal.catalogue.department_exists",
            message_params={"code": data.code},
        )
    if data.uscc and repository.by_uscc(session, data.uscc) is not None:
        raise Conflict(
            f"unified social credit code {data.uscc} belongs to another department",
            errors=[{"field": "uscc", "message": "already registered"}],
            message_key="refusal.catalogue.uscc_taken",
            message_params={"uscc": data.uscc},
        )
    parent = None
    if data.parent is not None:
        parent = repository.by_code(session, data.parent)
        if parent is None:
            raise InvalidInput(
                f"unknown parent department {data.parent}",
                errors=[{"field": "parent", "message": f"no department with code {data.parent}"}],
                message_key="refusal.catalogue.unknown_parent",
                message_params={"code": data.parent},
            )
    department = Department(
        code=data.code, name=data.name, level=data.level, parent=parent, uscc=data.uscc
    )
    session.add(department)
    session.flush()
    return department


def get_department(session: Session, *, code: str) -> Department:
    """Return the department with ``code`` or raise NotFound."""
    department = repository.by_code(session, code)
    if department is None:
        raise NotFound(
            f"no department with code {code}",
            message_key="refusal.catalogue.no_department",
            message_params={"code": code},
        )
    return department


def list_departments(session: Session, *, page: PageParams) -> tuple[list[Department], int]:
    """Return one page of departments ordered by code, and the total count."""
    return repository.page(session, offset=page.offset, limit=page.size)


def to_read(department: Department) -> DepartmentRead:
    """Return the API form of a department."""
    return DepartmentRead(
        code=department.code,
        name=department.name,
        level=department.level,
        parent=department.parent.code if department.parent else None,
        uscc=department.uscc,
        created_at=department.created_at,
    )
