"""Applications (一窗受理): the public entry of the submission services.

A submission is validated (``validation``), its ``Idempotency-Key`` claimed and its
application row committed (``submission``), its materials pulled and written with the case
file stored on the key (``completion``, rows set by ``materials``). If it fails after the
claim, the half-made application is deleted and the key released (``undo``); if its process
died, a resubmission with the same key, or the background worker, finishes that same
application (``takeover``). What every service shares — the running hub, who may act as a
window — is in ``context``.

Routers, the CLI and other packages import from here; the names below are those modules'.
"""

from __future__ import annotations

from exchange.applications.completion import Unfinished
from exchange.applications.completion import complete as _complete
from exchange.applications.context import (
    SUBMITTERS,
    CaseOwners,
    Context,
    actor,
    context_for,
    invalid,
    require_member,
)
from exchange.applications.materials import (
    ORGANISATION_IDENTIFIERS,
    apply_outcome,
    flag_conflicts,
    row_evidence,
)
from exchange.applications.submission import _create, submit
from exchange.applications.takeover import finish_abandoned, window_principal
from exchange.applications.undo import undo_submission as _undo
from exchange.applications.validation import (
    CHECKED_KINDS,
    Prepared,
    identifier_problems,
    parse,
    prepare,
)
from exchange.applications.validation import prepare_submission as _prepare

__all__ = [
    "CHECKED_KINDS",
    "ORGANISATION_IDENTIFIERS",
    "SUBMITTERS",
    "CaseOwners",
    "Context",
    "Prepared",
    "Unfinished",
    "_complete",
    "_create",
    "_prepare",
    "_undo",
    "actor",
    "apply_outcome",
    "context_for",
    "finish_abandoned",
    "flag_conflicts",
    "identifier_problems",
    "invalid",
    "parse",
    "prepare",
    "require_member",
    "row_evidence",
    "submit",
    "window_principal",
]
