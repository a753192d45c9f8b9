"""Function-level authorization with casbin (RBAC with domains; domain = department)."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import casbin
from casbin import util
from casbin.model import Model
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.core.errors import Forbidden
from exchange.identity.models import System, User
from exchange.identity.principal import GLOBAL_ROLES, Principal

_HERE = Path(__file__).parent
_MAX_ANSWERS = 65_536
MODEL_TEXT = (_HERE / "rbac_model.conf").read_text(encoding="utf-8")
POLICY_ROWS = [
    [cell.strip() for cell in row[1:]]
    for row in csv.reader((_HERE / "rbac_policy.csv").read_text(encoding="utf-8").splitlines())
    if row and row[0].strip() == "p"
]


def grouping_rows(session: Session) -> list[list[str]]:
    """Derive ``g`` rows (subject, role, department) from active systems and users."""
    rows: list[list[str]] = []
    for system in session.scalars(select(System).where(System.status == "active")):
        rows += _rows(system.client_id, system.roles, system.department.code)
    for user in session.scalars(select(User).where(User.status == "active")):
        rows += _rows(f"user:{user.username}", user.roles, user.department.code)
    return rows


def _rows(subject: str, roles: list[str], department: str) -> list[list[str]]:
    return [[subject, r, "*" if r in GLOBAL_ROLES else department] for r in roles]


def build_enforcer(groupings: list[list[str]]) -> casbin.Enforcer:
    """Build a fresh enforcer from the static policy and the given role assignments."""
    model = Model()
    model.load_model_from_text(MODEL_TEXT)
    enforcer = casbin.Enforcer(model)
    enforcer.add_named_domain_matching_func("g", util.key_match)
    enforcer.add_policies(POLICY_ROWS)
    if groupings:
        enforcer.add_grouping_policies(groupings)
    return enforcer


class Authorizer:
    """Holds the current enforcer; rebuilds it aside and swaps it in, never mid-decision."""

    def __init__(self, factory: sessionmaker[Session], max_age_seconds: float = 5.0) -> None:
        self._factory = factory
        self._max_age = max_age_seconds
        self._lock = threading.Lock()
        self._enforcer: casbin.Enforcer | None = None
        # Answers of the current enforcer: its inputs (role assignments, the static policy)
        # never change, so they hold until the next reload swaps both out together.
        self._memo: tuple[casbin.Enforcer | None, dict[tuple[str, str, str, str], bool]] = (
            None,
            {},
        )
        self._loaded_at = 0.0

    def reload(self) -> None:
        """Rebuild the enforcer from the principal registry."""
        with self._factory() as session:
            enforcer = build_enforcer(grouping_rows(session))
        self._memo = (enforcer, {})
        self._enforcer, self._loaded_at = enforcer, time.monotonic()

    def _current(self) -> casbin.Enforcer:
        enforcer = self._enforcer
        if enforcer is None or time.monotonic() - self._loaded_at > self._max_age:
            with self._lock:
                if self._enforcer is enforcer:
                    self.reload()
            enforcer = self._enforcer
        assert enforcer is not None
        return enforcer

    def allowed(
        self, principal: Principal, *, obj: str, act: str, domain: str | None = None
    ) -> bool:
        """Return whether ``principal`` may ``act`` on ``obj`` in ``domain`` (default: its own)."""
        enforcer = self._current()
        # One read of the pair, so an answer is never taken from another enforcer's memo.
        remembered, answers = self._memo
        if remembered is not enforcer:
            answers = {}
        key = (principal.subject, domain or principal.department, obj, act)
        found = answers.get(key)
        if found is None:
            found = bool(enforcer.enforce(*key))
            if len(answers) < _MAX_ANSWERS:
                answers[key] = found
        return found

    def require(
        self, principal: Principal, *, obj: str, act: str, domain: str | None = None
    ) -> None:
        """Raise ``Forbidden`` unless ``principal`` may ``act`` on ``obj`` in ``domain``."""
        if not self.allowed(principal, obj=obj, act=act, domain=domain):
            where = domain or principal.department
            raise Forbidden(f"{principal.subject} may not {act} {obj} of department {where}")
