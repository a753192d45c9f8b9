"""Import every model so that ``Base.metadata`` knows the whole schema."""

from catalogs.departments.models import Department
from catalogs.onethings.models import Material, OneThing, ServiceItem
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from exchange.applications.models import (
    Application,
    ApplicationConflict,
    ApplicationEvent,
    ApplicationFile,
    ApplicationMaterial,
    ApplicationPart,
    IdempotencyRecord,
)
from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditKey
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.console.models import ConsoleSession
from exchange.grants.models import CasbinRule, Grant, GrantEvent, PolicyChange, PolicyState
from exchange.identity.models import SigningKey, System, UsedAssertion, User
from exchange.objections.models import DataObjection, ObjectionEvent
from exchange.tracker.models import TrackerRead

__all__ = [
    "Application",
    "ApplicationConflict",
    "ApplicationEvent",
    "ApplicationFile",
    "ApplicationMaterial",
    "ApplicationPart",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "AuditKey",
    "CasbinRule",
    "ConnectorBinding",
    "ConnectorCheck",
    "ConsoleSession",
    "DataObjection",
    "Department",
    "Grant",
    "GrantEvent",
    "IdempotencyRecord",
    "Material",
    "ObjectionEvent",
    "OneThing",
    "PolicyChange",
    "PolicyState",
    "Resource",
    "ResourceItem",
    "ResourceVersion",
    "ServiceItem",
    "SigningKey",
    "System",
    "TrackerRead",
    "UsedAssertion",
    "User",
]
