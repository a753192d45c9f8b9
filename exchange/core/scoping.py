"""Whose rows a department-scoped list shows, and on which side of each row.

Grants (consumer, provider) and objections (provider, raiser) are rows between two
departments. A list asked for one side (``role``) shows the rows whose that side is the
scoped department; asked for no side, the rows it is on either side of. The scoped
department is the one named, else the caller's; a province admin or an auditor naming none
sees every department's. The console opens such a list on the provider's inbox, or on every
department's for those global roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.identity.scope import is_global, listing_department_id

PROVIDER = "provider"


@dataclass(frozen=True)
class ListScope:
    """The department a list is narrowed to (None: every one) and the side asked (None: either)."""

    department_id: int | None
    role: str | None = None

    def side(self, role: str) -> int | None:
        """Return the department the ``role`` side of a row must be (None: any)."""
        return self.department_id if self.role == role else None

    @property
    def either(self) -> int | None:
        """Return the department one side or the other must be (None: any, or a side was asked)."""
        return self.department_id if self.role is None else None

    def province_wide(self, role: str) -> bool:
        """Return whether the list is every department's rows on the ``role`` side."""
        return self.role == role and self.department_id is None


def list_scope(
    session: Session,
    *,
    principal: Principal,
    authz: Authorizer,
    role: str | None,
    department: str | None,
    obj: str,
    what: str,
) -> ListScope:
    """Return whose rows a list shows; ``Forbidden`` or ``InvalidInput`` for a department."""
    department_id = listing_department_id(
        session, principal=principal, authz=authz, department=department, obj=obj, what=what
    )
    return ListScope(department_id=department_id, role=role)


def default_role(principal: Principal) -> str | None:
    """Return the side a console list opens on: every department's for global roles."""
    return None if is_global(principal) else PROVIDER
