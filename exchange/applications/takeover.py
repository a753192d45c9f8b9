"""Taking over an application whose owner process died (接续办理).

A key makes one application for ever. If the process dies between the submission's two
transactions (``kill -9``), the key stays in flight naming its application; once it is
stale, the client's resubmission with the same key takes it over and *finishes that
application* (pulls the materials not yet recorded, answers its case file) instead of
making a second one — and if the client never comes back, the background worker
(``retry``) finishes it the same way (``finish_abandoned``), so nothing is left half-made.
A process that was only slow finds its key taken over and answers 409 rather than writing
twice (``idempotency.Superseded``, the fenced claims of ``idempotency``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from exchange.applications import idempotency
from exchange.applications import repository as repo
from exchange.applications.completion import RESERVE_MAX, RESERVE_SHARE, Unfinished, complete
from exchange.applications.context import Context
from exchange.applications.fanout import MaterialSpec
from exchange.applications.validation import material_specs
from exchange.identity.principal import Principal


async def finish_abandoned(ctx: Context, claim: idempotency.Claim, *, request_id: str) -> str:
    """Finish the application of a key taken over from a dead process; return its number.

    The pulls are made as the window system that submitted (its grants apply), with the
    application's own budget; the answer is stored on the key, so the client's resubmission
    replays it. Raise ``idempotency.Superseded`` if the key was taken over meanwhile.
    """
    assert claim.application_id is not None
    work = await asyncio.to_thread(resume, ctx, claim.application_id, None)
    principal = window_principal(work.window_system, work.window_department, token_id=request_id)
    reserve = min(work.budget_seconds * RESERVE_SHARE, RESERVE_MAX)
    await complete(
        ctx,
        claim,
        work,
        principal=principal,
        request_id=request_id,
        trail=None,
        cutoff=time.monotonic() + work.budget_seconds - reserve,
    )
    return work.number


def window_principal(window_system: str, window_department: str, *, token_id: str) -> Principal:
    """Return the window system that submitted an application, as background work acts."""
    is_user = window_system.startswith("user:")
    return Principal(
        subject=window_system,
        kind="user" if is_user else "system",
        department=window_department,
        roles=frozenset() if is_user else frozenset({"system"}),
        token_id=token_id,
        client_id=None if is_user else window_system,
    )


def resume(ctx: Context, application_id: int, specs: Sequence[MaterialSpec] | None) -> Unfinished:
    """Read back an application a dead process made: what it still has to pull."""
    with ctx.factory() as session:
        application = repo.by_id(session, application_id)
        if application is None:  # deleted with its key meanwhile: the key is not ours
            raise idempotency.Superseded(f"application {application_id} is gone; retry")
        if specs is None:
            _, _, specs = material_specs(session, application.one_thing_code)
        have = {m.material_code for m in application.materials}
        return Unfinished(
            application_id=application.id,
            number=application.number,
            one_thing_name=repo.one_thing_name(session, application.one_thing_id),
            window_department=application.window_department,
            window_system=application.window_system,
            identifiers={str(k): str(v) for k, v in (application.identifiers or {}).items()},
            material_keys={str(k): str(v) for k, v in (application.material_keys or {}).items()},
            consent=application.consent_to_fetch,
            budget_seconds=(application.budget_ms or 0) / 1000
            or ctx.settings.application_budget_seconds,
            to_pull=tuple(s for s in specs if s.kind == "pullable" and s.code not in have),
            resumed=True,
        )
