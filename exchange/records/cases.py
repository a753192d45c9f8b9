"""Whose case a pull serves: the hook applications (办件, issue 6) will fill.

A pull may name the case it serves (``case_id``). A case of another department must not
be used to pull data: the pull is refused with 403. Until applications exist the hub knows
no case, so ``case_id`` is free text recorded in the access log.

Issue 6: set ``app.state.case_owner`` to an async function returning the department code
that owns a case id (None for an unknown case, which is then refused or accepted as the
applications design decides); the record-pull path calls it for every pull naming a case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

CaseOwner = Callable[[str], Awaitable[str | None]]


async def no_applications_yet(case_id: str) -> str | None:
    """Return the department owning ``case_id``: none yet, every case id is free text."""
    return None


def case_owner(state: Any) -> CaseOwner:
    """Return the app's case-owner lookup (``app.state.case_owner``), or the default."""
    owner: CaseOwner = getattr(state, "case_owner", no_applications_yet)
    return owner
