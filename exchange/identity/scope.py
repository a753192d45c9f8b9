"""Which departments' rows a caller may read: shared by every domain's list views."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalogs.departments import repository as departments
from exchange.core.errors import Forbidden, InvalidInput
from exchange.identity.authz import Authorizer
from exchange.identity.principal import GLOBAL_ROLES, Principal


def is_global(principal: Principal) -> bool:
    """Return whether the caller acts across every department (province admin, auditor)."""
    return bool(principal.roles & GLOBAL_ROLES)


def require_read(
    principal: Principal, authz: Authorizer, obj: str, what: str, *departments: str
) -> None:
    """Raise ``Forbidden`` unless the caller may read ``obj`` of one of ``departments``."""
    if any(authz.allowed(principal, obj=obj, act="read", domain=d) for d in departments):
        return
    raise Forbidden(
        f"{principal.subject} may not read {what} of {' or '.join(dict.fromkeys(departments))}"
    )


def listing_department_id(
    session: Session,
    *,
    principal: Principal,
    authz: Authorizer,
    department: str | None,
    obj: str,
    what: str,
) -> int | None:
    """Return the department a list is scoped to (None: every department, for global roles).

    By default a list shows the caller's own department; a province admin or auditor sees
    every department's unless ``department`` is given.
    """
    code = department or (None if is_global(principal) else principal.department)
    if code is None:
        return None
    require_read(principal, authz, obj, what, code)
    dept = departments.by_code(session, code)
    if dept is None:
        raise InvalidInput(
            f"no department {code}",
            errors=[{"field": "department", "message": f"no department {code}"}],
        )
    return dept.id
