"""The data-demand list (数据需求清单) of a one-thing, and the planner that files what is missing.

For a one-thing and a consumer department, each pullable material needs a grant for its
items, for its purpose: the material's service item, or the one-thing's code when it belongs
to none (the same rule as the elimination report). The planner files one request per missing
(resource, purpose) with the union of the items its materials need.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from catalogs.departments.models import Department
from catalogs.onethings import repository as onethings
from catalogs.onethings.models import OneThing
from catalogs.resources.models import Resource
from exchange.core.errors import InvalidInput, NotFound
from exchange.core.settings import Settings
from exchange.grants import repository as repo
from exchange.grants import rules, service
from exchange.grants.models import Grant
from exchange.grants.schemas import (
    DemandEntry,
    DemandFiling,
    DemandList,
    GrantCreate,
    PlannedRequest,
)
from exchange.grants.views import to_read
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal


def _one_thing(session: Session, code: str) -> OneThing:
    one_thing = onethings.one_thing_by_code(session, code)
    if one_thing is None:
        raise NotFound(
            f"no one-thing {code}",
            message_key="refusal.catalogue.no_one_thing",
            message_params={"code": code},
        )
    return one_thing


def _consumer(session: Session, code: str | None, principal: Principal | None) -> Department:
    code = code or (principal.department if principal else None)
    if code is None:
        raise InvalidInput(
            "name the consumer department",
            errors=[{"field": "consumer", "message": "required"}],
            message_key="refusal.grants.consumer_required",
        )
    dept = repo.department_by_code(session, code)
    if dept is None:
        raise InvalidInput(
            f"unknown consumer department {code}",
            errors=[{"field": "consumer", "message": f"no department {code}"}],
            message_key="refusal.grants.unknown_consumer",
            message_params={"code": code},
        )
    return dept


def _entries(
    session: Session, one_thing: OneThing, consumer: Department, today: date
) -> tuple[list[DemandEntry], dict[str, Resource]]:
    pullable = [m for m in one_thing.materials if m.kind == "pullable" and m.resource_code]
    resources = onethings.resources_by_codes(session, [m.resource_code or "" for m in pullable])
    grants: dict[str, list[Grant]] = {
        code: list(
            repo.consumer_grants(
                session,
                department_id=consumer.id,
                resource_id=resource.id,
                statuses=[rules.APPROVED, rules.PENDING],
            )
        )
        for code, resource in resources.items()
    }
    entries = []
    for m in pullable:
        code = m.resource_code or ""
        purpose = m.service_item.code if m.service_item else one_thing.code
        resource = resources.get(code)
        base = {
            "material": m.code,
            "name": m.name,
            "resource": code,
            "items": list(m.items),
            "purpose": purpose,
            "resource_name": resource.name if resource else None,
            "provider": resource.provider.code if resource else None,
            "share_type": resource.share_type if resource else None,
        }
        found = _status(resource, grants.get(code, []), list(m.items), purpose, today)
        entries.append(DemandEntry(**base, **found))
    return entries, resources


def _status(
    resource: Resource | None, grants: list[Grant], items: list[str], purpose: str, today: date
) -> dict[str, object]:
    def say(status: str, detail: str, grant_id: int | None = None) -> dict[str, object]:
        return {"status": status, "detail": detail, "grant_id": grant_id}

    if resource is None:
        return say("unavailable", "the resource is not in the catalogue")
    if resource.status != "published":
        return say("unavailable", f"the resource is {resource.status}, not published")
    if resource.share_type == "none":
        return say("not_shareable", rules.not_shared_reason(resource.legal_basis))
    missing = rules.unknown(items, [i.code for i in resource.items])
    if missing:
        return say("unavailable", f"the resource has no item(s) {', '.join(c for _, c in missing)}")
    for g in grants:
        in_force = rules.in_force(
            g.status,
            starts_on=g.starts_on,
            ends_on=g.ends_on,
            certified_on=g.certified_on,
            today=today,
        )
        if in_force and rules.covers(g.items, g.purposes, items, purpose):
            return say("covered", f"grant {g.id} covers it until {g.ends_on}", g.id)
    for g in grants:
        if g.status == rules.PENDING and rules.covers(g.items, g.purposes, items, purpose):
            return say("pending", f"request {g.id} is pending with {resource.provider.code}", g.id)
    return say("missing", "no grant and no pending request covers it")


def demand_list(
    session: Session,
    *,
    code: str,
    consumer: str | None,
    principal: Principal,
    authz: Authorizer,
    today: date | None = None,
) -> DemandList:
    """List the grants a one-thing's pullable materials need and which the consumer holds."""
    today = today or service.china_today()
    one_thing = _one_thing(session, code)
    dept = _consumer(session, consumer, principal)
    authz.require(principal, obj="grant", act="read", domain=dept.code)
    entries, _ = _entries(session, one_thing, dept, today)
    return DemandList(
        one_thing=one_thing.code,
        consumer=dept.code,
        entries=entries,
        summary=dict(Counter(e.status for e in entries)),
    )


@dataclass
class _Plan:
    resource: Resource
    purpose: str
    items: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)


def file_demand(
    session: Session,
    *,
    code: str,
    consumer: str | None,
    dry_run: bool,
    principal: Principal | None,
    authz: Authorizer | None,
    settings: Settings,
    today: date | None = None,
) -> DemandFiling:
    """File one request per missing (resource, purpose); in a dry run, only say what would be.

    ``principal``/``authz`` None is the trusted operator context (CLI, demo seeding).
    """
    today = today or service.china_today()
    one_thing = _one_thing(session, code)
    dept = _consumer(session, consumer, principal)
    service.check_requester(
        session, actor=principal, authz=authz, consumer=dept.code, consumer_system=None
    )
    entries, resources = _entries(session, one_thing, dept, today)
    plans: dict[tuple[str, str], _Plan] = {}
    for e in entries:
        if e.status != "missing":
            continue
        plan = plans.setdefault((e.resource, e.purpose), _Plan(resources[e.resource], e.purpose))
        plan.items += [i for i in e.items if i not in plan.items]
        plan.materials.append(e.name)
    starts_on, ends_on = rules.default_period(today)
    requests = []
    for plan in plans.values():
        need = rules.need_text(one_thing.name, plan.materials)
        grant = None
        if not dry_run:
            data = GrantCreate(
                consumer=dept.code,
                resource=plan.resource.code,
                items=plan.items,
                purposes=[plan.purpose],
                starts_on=starts_on,
                ends_on=ends_on,
                need=need,
            )
            filed = service.request_grant(
                session, data=data, actor=principal, authz=authz, settings=settings, today=today
            )
            grant = to_read(filed, today)
        requests.append(
            PlannedRequest(
                resource=plan.resource.code,
                resource_name=plan.resource.name,
                provider=plan.resource.provider.code,
                share_type=plan.resource.share_type,
                purpose=plan.purpose,
                items=plan.items,
                materials=plan.materials,
                starts_on=starts_on,
                ends_on=ends_on,
                need=need,
                expected="approved" if plan.resource.share_type == "unconditional" else "pending",
                grant=grant,
            )
        )
    skipped = [e for e in entries if e.status in ("not_shareable", "unavailable")]
    return DemandFiling(
        one_thing=one_thing.code,
        consumer=dept.code,
        dry_run=dry_run,
        requests=requests,
        skipped=skipped,
    )
