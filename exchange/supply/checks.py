"""The hub's answers to the catalogue's ``SupplyChecks``: connector bindings and grants."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalogs.onethings.rules import SupplyChecks
from exchange.bindings import repository as bindings
from exchange.grants.repository import grants_in_force_by_codes
from exchange.grants.rules import covers
from exchange.grants.service import china_today


class HubSupplyChecks(SupplyChecks):
    """Answer supply questions from the hub's own tables, on the request's session.

    - ``is_bound`` is True when an enabled connector binding exists for the resource (it
      says nothing of whether the source answers right now: that is the pull's business).
    - ``has_grant`` checks the consumer's grants in SQL: approved, to the department or one
      of its systems, covering the items and the purpose, in force today (by date: it does
      not wait for the sweep to record an expiry or a lapse).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def is_bound(self, resource_code: str) -> bool:
        """Return whether an enabled connector binding exists for the resource."""
        return bindings.is_bound(self.session, resource_code)

    def has_grant(self, consumer: str, resource_code: str, items: list[str], purpose: str) -> bool:
        """Return whether the consumer department (or one of its systems) holds a current grant."""
        grants = grants_in_force_by_codes(
            self.session, consumer=consumer, resource_code=resource_code, today=china_today()
        )
        return any(covers(g.items, g.purposes, items, purpose) for g in grants)
