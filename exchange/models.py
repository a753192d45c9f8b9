"""Import every model so that ``Base.metadata`` knows the whole schema."""

from catalogs.departments.models import Department
from catalogs.onethings.models import Material, OneThing, ServiceItem
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.grants.models import Grant, GrantEvent, PolicyState
from exchange.identity.models import SigningKey, System, UsedAssertion, User

__all__ = [
    "ConnectorBinding",
    "ConnectorCheck",
    "Department",
    "Grant",
    "GrantEvent",
    "Material",
    "OneThing",
    "PolicyState",
    "Resource",
    "ResourceItem",
    "ResourceVersion",
    "ServiceItem",
    "SigningKey",
    "System",
    "UsedAssertion",
    "User",
]
