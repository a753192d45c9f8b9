"""The authenticated caller, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ROLES = frozenset({"system", "catalog_admin", "province_admin", "auditor"})
# Roles that act across every department; the others act within their own department.
GLOBAL_ROLES = frozenset({"province_admin", "auditor"})


@dataclass(frozen=True)
class Principal:
    """A verified caller: a department system or a person, acting for one department."""

    subject: str  # a system's client_id, or "user:<username>"
    kind: Literal["system", "user"]
    department: str  # department code
    roles: frozenset[str]
    token_id: str  # the access token's jti
    client_id: str | None = None
    expires_at: datetime | None = None  # when the access token stops being accepted

    def has_role(self, role: str) -> bool:
        """Return whether the token names ``role``."""
        return role in self.roles
