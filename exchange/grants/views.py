"""Reading grants: one with its history, lists, and the central permission views.

"Who can read resource X" and "what can system Y read" answer from the grant rows for the
whole province at once: the view a per-server exchange (X-Road and the like) cannot give.
A department's administrators read the grants it requests or provides; a province admin
and an auditor read them all.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from exchange.core.errors import Forbidden, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.core.scoping import list_scope
from exchange.grants import repository as repo
from exchange.grants import rules
from exchange.grants.models import Grant
from exchange.grants.schemas import (
    GrantDetail,
    GrantEventRead,
    GrantRead,
    ResourcePermission,
    ResourcePermissions,
    SystemPermission,
    SystemPermissions,
)
from exchange.grants.service import china_today
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal
from exchange.identity.scope import require_read


def to_read(grant: Grant, today: date) -> GrantRead:
    """Return the API shape of a grant with its status on ``today``."""
    resource = grant.resource
    status = rules.effective_status(
        grant.status, ends_on=grant.ends_on, certified_on=grant.certified_on, today=today
    )
    overdue_days = rules.working_days_overdue(grant.status, grant.due_on, today)
    return GrantRead(
        id=grant.id,
        consumer=grant.consumer_department.code,
        consumer_name=grant.consumer_department.name,
        consumer_system=grant.consumer_system.client_id if grant.consumer_system else None,
        resource=resource.code,
        resource_name=resource.name,
        provider=resource.provider.code,
        share_type=resource.share_type,
        items=list(grant.items),
        purposes=list(grant.purposes),
        masked=grant.masked,
        starts_on=grant.starts_on,
        ends_on=grant.ends_on,
        need=grant.need,
        status=status,
        in_force=_in_force(grant, today),
        requested_by=grant.requested_by,
        requested_at=grant.requested_at,
        due_on=grant.due_on,
        overdue=overdue_days is not None,
        working_days_overdue=overdue_days,
        escalated_at=grant.escalated_at,
        decided_by=grant.decided_by,
        decided_at=grant.decided_at,
        decision_reason=grant.decision_reason,
        certified_on=grant.certified_on,
        recertify_by=rules.recertify_by(grant.certified_on) if status == rules.APPROVED else None,
        ended_at=grant.ended_at,
        row_version=grant.row_version,
    )


def _in_force(grant: Grant, today: date) -> bool:
    return rules.in_force(
        grant.status,
        starts_on=grant.starts_on,
        ends_on=grant.ends_on,
        certified_on=grant.certified_on,
        today=today,
    )


def get_grant(
    session: Session,
    *,
    grant_id: int,
    principal: Principal,
    authz: Authorizer,
    today: date | None = None,
) -> GrantDetail:
    """Return a grant with its full history (its consumer's or provider's readers)."""
    grant = repo.grant_by_id(session, grant_id)
    if grant is None:
        raise NotFound(
            f"no grant {grant_id}",
            message_key="refusal.grants.no_grant",
            message_params={"grant": grant_id},
        )
    require_read(
        principal,
        authz,
        "grant",
        "grants",
        grant.consumer_department.code,
        grant.resource.provider.code,
    )
    events = [
        GrantEventRead.model_validate(e, from_attributes=True)
        for e in repo.events_of(session, grant_id)
    ]
    base = to_read(grant, today or china_today())
    return GrantDetail(**base.model_dump(), events=events)


def list_grants(
    session: Session,
    *,
    principal: Principal,
    authz: Authorizer,
    page: PageParams,
    role: str | None = None,
    department: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    expiring_within_days: int | None = None,
    today: date | None = None,
) -> Page[GrantRead]:
    """List grants as consumer, as provider or both, of the caller's department by default.

    A province admin or auditor sees every department's unless ``department`` is given.
    """
    today = today or china_today()
    scope = list_scope(
        session,
        principal=principal,
        authz=authz,
        role=role,
        department=department,
        obj="grant",
        what="grants",
    )
    f = repo.GrantFilter(
        consumer_department_id=scope.side("consumer"),
        provider_department_id=scope.side("provider"),
        either_department_id=scope.either,
        status=status,
        overdue=overdue,
        expiring_within_days=expiring_within_days,
    )
    rows, total = repo.list_grants(session, f, today=today, offset=page.offset, limit=page.size)
    return Page[GrantRead](
        items=[to_read(g, today) for g in rows], total=total, page=page.page, size=page.size
    )


def resource_permissions(
    session: Session,
    *,
    code: str,
    principal: Principal,
    authz: Authorizer,
    page: PageParams,
    today: date | None = None,
) -> ResourcePermissions:
    """Who can read a resource: departments and systems, which items, for what, until when."""
    today = today or china_today()
    resource = repo.resource_by_code(session, code)
    if resource is None:
        raise NotFound(
            f"no resource {code}",
            message_key="refusal.grants.no_resource",
            message_params={"code": code},
        )
    require_read(principal, authz, "grant", "grants", resource.provider.code)
    rows, total = repo.resource_permissions(
        session, resource_id=resource.id, today=today, offset=page.offset, limit=page.size
    )
    grants = [
        ResourcePermission(
            grant_id=g.id,
            consumer=g.consumer_department.code,
            consumer_name=g.consumer_department.name,
            consumer_system=g.consumer_system.client_id if g.consumer_system else None,
            items=list(g.items),
            purposes=list(g.purposes),
            masked=g.masked,
            starts_on=g.starts_on,
            ends_on=g.ends_on,
            recertify_by=rules.recertify_by(g.certified_on),
            in_force=_in_force(g, today),
        )
        for g in rows
    ]
    return ResourcePermissions(
        resource=resource.code,
        resource_name=resource.name,
        provider=resource.provider.code,
        share_type=resource.share_type,
        grants=grants,
        total=total,
        page=page.page,
        size=page.size,
    )


def system_permissions(
    session: Session,
    *,
    client_id: str,
    principal: Principal,
    authz: Authorizer,
    page: PageParams,
    today: date | None = None,
) -> SystemPermissions:
    """What a system can read: its own grants and those of its department."""
    today = today or china_today()
    system = repo.system_by_client_id(session, client_id)
    if system is None:
        raise NotFound(
            f"no system {client_id}",
            message_key="refusal.grants.no_system",
            message_params={"system": client_id},
        )
    if principal.kind == "system" and (principal.client_id or principal.subject) != client_id:
        raise Forbidden(
            f"system {principal.subject} may read only its own permissions",
            message_key="refusal.grants.system_reads_own_permissions",
            message_params={"system": principal.subject},
        )
    require_read(principal, authz, "grant", "grants", system.department.code)
    rows, total = repo.system_permissions(
        session, system=system, today=today, offset=page.offset, limit=page.size
    )
    grants = [
        SystemPermission(
            grant_id=g.id,
            resource=g.resource.code,
            resource_name=g.resource.name,
            provider=g.resource.provider.code,
            items=list(g.items),
            purposes=list(g.purposes),
            masked=g.masked,
            starts_on=g.starts_on,
            ends_on=g.ends_on,
            recertify_by=rules.recertify_by(g.certified_on),
            in_force=_in_force(g, today),
            inherited=g.consumer_system_id is None,
        )
        for g in rows
    ]
    return SystemPermissions(
        client_id=system.client_id,
        department=system.department.code,
        grants=grants,
        total=total,
        page=page.page,
        size=page.size,
    )
