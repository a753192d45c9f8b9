"""What every application service shares: the running hub, who may act as a window (窗口).

``Context`` is what the services use of ``app.state``; ``CaseOwners`` remembers the window
department of each application number (the case id of every pull). ``require_member`` and
``actor`` say who may act and how events name them; ``invalid`` builds the 422 that names
every problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from exchange.applications import repository as repo
from exchange.applications import rules
from exchange.applications.files import MaterialStore
from exchange.audit.log import AuditLog
from exchange.core.errors import Forbidden, InvalidInput
from exchange.core.settings import Settings
from exchange.identity.principal import Principal
from exchange.records.service import Hub, hub_for

SUBMITTERS = frozenset({"catalog_admin", "province_admin"})  # people who may act as a window


class CaseOwners:
    """``app.state.case_owner``: the window department of an application number.

    A number's window never changes, so a found owner is remembered; a case id that is not
    shaped like a number is free text (None) without a query.
    """

    def __init__(self, factory: sessionmaker[Session], *, size: int = 50_000) -> None:
        self._factory = factory
        self._size = size
        self._known: dict[str, str] = {}

    async def __call__(self, case_id: str) -> str | None:
        """Return the department that owns ``case_id``, or None for an unknown case."""
        found = self._known.get(case_id)
        if found is not None or rules.parse_application_number(case_id) is None:
            return found
        owner = await asyncio.to_thread(self._read, case_id)
        if owner is not None:
            self.remember(case_id, owner)
        return owner

    def _read(self, number: str) -> str | None:
        with self._factory() as session:
            return repo.window_of(session, number)

    def remember(self, number: str, department: str) -> None:
        """Note the owner of a number just created here."""
        if len(self._known) >= self._size:
            self._known = {}
        self._known[number] = department

    def forget(self, number: str) -> None:
        """Forget a number (its application was deleted)."""
        self._known.pop(number, None)


@dataclass(frozen=True)
class Context:
    """What the application services use of the running hub."""

    settings: Settings
    factory: sessionmaker[Session]
    hub: Hub
    audit: AuditLog
    store: MaterialStore
    owners: CaseOwners


def context_for(state: Any) -> Context:
    """Return the applications context of a running hub (``app.state``)."""
    owners = getattr(state, "case_owner", None)
    if not isinstance(owners, CaseOwners):
        owners = state.case_owner = CaseOwners(state.sessionmaker)
    return Context(
        settings=state.settings,
        factory=state.sessionmaker,
        hub=hub_for(state),
        audit=state.audit,
        store=MaterialStore(state.settings.effective_materials_dir),
        owners=owners,
    )


def require_member(principal: Principal) -> None:
    """Raise Forbidden unless the caller is a department system or an administrator."""
    if principal.kind == "system" and principal.has_role("system"):
        return
    if principal.kind == "user" and principal.roles & SUBMITTERS:
        return
    raise Forbidden(
        f"{principal.subject} may not act on applications: department systems "
        "(or administrators) only"
    )


def actor(principal: Principal) -> str:
    """Return how events name the caller: the system's client id, else its subject."""
    return principal.client_id or principal.subject


def invalid(
    problems: Sequence[Mapping[str, Any]], what: str = "invalid application"
) -> InvalidInput:
    """Return the 422 naming every problem."""
    named = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return InvalidInput(f"{what}: {named}"[:2000], errors=[dict(p) for p in problems])
