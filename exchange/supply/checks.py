"""The hub's answers to the catalogue's ``SupplyChecks``: connector bindings and grants."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalogs.onethings.rules import SupplyChecks


class HubSupplyChecks(SupplyChecks):
    """Answer supply questions from the hub's own tables, on the request's session.

    Neither connector bindings nor grants exist in this codebase yet, so today both answers
    are an honest "no" and the elimination report shows every pullable material as still
    demanded (reason ``no_connector``):

    - ``is_bound`` always returns False until connector bindings land (issue #4), which will
      replace it with a lookup of the resource's bound connector.
    - ``has_grant`` always returns False until grants land (issue #3), which will replace it
      with a check of the consumer's approved, unexpired grants for the items and purpose.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def is_bound(self, resource_code: str) -> bool:
        """Return whether a connector is bound to the resource (none can be yet: issue #4)."""
        return False

    def has_grant(self, consumer: str, resource_code: str, items: list[str], purpose: str) -> bool:
        """Return whether the consumer holds a current grant (none can exist yet: issue #3)."""
        return False
