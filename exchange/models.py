"""Import every model so that ``Base.metadata`` knows the whole schema."""

from catalogs.departments.models import Department
from catalogs.onethings.models import Material, OneThing, ServiceItem
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from exchange.identity.models import SigningKey, System, UsedAssertion, User

__all__ = [
    "Department",
    "Material",
    "OneThing",
    "Resource",
    "ResourceItem",
    "ResourceVersion",
    "ServiceItem",
    "SigningKey",
    "System",
    "UsedAssertion",
    "User",
]
