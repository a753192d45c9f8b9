"""Catalogue entry operations: create, update, lifecycle, read, search, history.

``actor``/``authz`` None means a trusted operator context (CLI, seeding, import): no
permission check, and the history records the actor as "operator".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalogs.departments import repository as departments
from catalogs.departments.models import Department
from catalogs.resources import repository, rules
from catalogs.resources.models import Resource, ResourceItem, ResourceVersion
from catalogs.resources.repository import SearchFilter, Visibility
from catalogs.resources.schemas import (
    ItemIn,
    ItemRead,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
)
from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.pagination import PageParams
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal

OPERATOR = "operator"
# 发布日期 is a civil date in China (UTC+8 all year, no daylight saving).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def create_resource(
    session: Session,
    *,
    data: ResourceCreate,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    status: str = "draft",
) -> Resource:
    """Create a catalogue entry as a draft, or published at once (import, seeding)."""
    _require_write(actor, authz, data.provider)
    if status not in ("draft", "published"):
        raise InvalidInput(
            f"a new entry starts as a draft or published, not {status}",
            message_key="refusal.catalogue.new_entry_status",
            message_params={"status": status},
        )
    provider = _provider(session, data.provider)
    if repository.code_exists(session, data.code):
        raise Conflict(
            f"resource {data.code} already exists",
            code=data.code,
            message_key="refusal.catalogue.resource_exists",
            message_params={"code": data.code},
        )
    resource = Resource(
        code=data.code,
        category_code=rules.category_code(data.code),
        provider=provider,
        status=status,
        version_major=1,
        version_minor=0,
        **data.model_dump(exclude={"code", "provider", "items"}),
    )
    resource.items = [_new_item(i, item) for i, item in enumerate(data.items)]
    if status == "published" and resource.published_on is None:
        resource.published_on = _today()
    snap = rules.snapshot(resource)
    resource.search_text = rules.search_text(snap, provider.name)
    session.add(resource)
    _flush(session, data.code)
    _record(session, resource, "created", [], snap, actor)
    return resource


def update_resource(
    session: Session,
    *,
    code: str,
    data: ResourceUpdate,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
) -> Resource:
    """Apply the given changes, bump the version by what changed and record it."""
    resource = _load(session, code, actor, for_update=True)
    _require_write(actor, authz, resource.provider.code)
    given = data.model_dump(exclude_unset=True, exclude={"items"})
    provider = resource.provider
    if "provider" in given and given["provider"] != provider.code:
        _require_write(actor, authz, given["provider"])
        provider = _provider(session, given["provider"])
    old = rules.snapshot(resource)
    new = {**old, **given, "provider": provider.code}
    if data.items is not None:
        new["items"] = [item.model_dump() for item in data.items]
    if "published_on" in given:
        new["published_on"] = data.published_on.isoformat() if data.published_on else None
    problems = rules.share_problems(new["share_type"], new["share_condition"], new["legal_basis"])
    if problems:
        raise InvalidInput(
            "inconsistent sharing attributes (共享属性)",
            errors=problems,
            message_key="refusal.catalogue.inconsistent_sharing",
        )
    kind, (major, minor), changes = rules.next_version(
        old, new, (resource.version_major, resource.version_minor)
    )
    if kind is None:
        return resource  # nothing changed: no write, same version
    for field, value in given.items():
        if field != "provider":
            setattr(resource, field, value)
    resource.provider = provider
    if data.items is not None:
        _replace_items(resource, data.items)
    resource.version_major, resource.version_minor = major, minor
    resource.search_text = rules.search_text(new, provider.name)
    session.flush()
    _record(session, resource, kind, changes, rules.snapshot(resource), actor)
    return resource


def change_status(
    session: Session,
    *,
    code: str,
    status: str,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    reason: str | None = None,
) -> Resource:
    """Move an entry along its lifecycle; publishing dates it today if it has no date."""
    resource = _load(session, code, actor, for_update=True)
    _require_write(actor, authz, resource.provider.code)
    old = resource.status
    problem = rules.check_transition(old, status)
    if problem:
        moves: dict[str, Any] = {"from": old, "to": status}
        raise Conflict(problem, **moves)
    extra = {"reason": reason} if reason else {}
    changes = [rules.change("set", "status", old, status, **extra)]
    resource.status = status
    if status == "published" and resource.published_on is None:
        resource.published_on = _today()
        published = resource.published_on.isoformat()
        changes.append(rules.change("set", "published_on", None, published))
    session.flush()
    _record(session, resource, "status", changes, rules.snapshot(resource), actor)
    return resource


def get_resource(session: Session, *, code: str, principal: Principal | None) -> Resource:
    """Return the entry if the reader may see it; otherwise NotFound (never leak a draft)."""
    return _load(session, code, principal)


def search_resources(
    session: Session,
    *,
    principal: Principal | None,
    page: PageParams,
    q: str | None = None,
    provider: str | None = None,
    share_type: str | None = None,
    update_cycle: str | None = None,
    status: str | None = None,
) -> tuple[list[Resource], int]:
    """Search the entries the reader may see by text and filters, ordered by code."""
    provider_id = None
    if provider:
        provider_id = _provider(session, provider).id
    text = (q or "").strip().lower() or None
    found = SearchFilter(text, provider_id, share_type, update_cycle, status)
    return repository.search(
        session, _visibility(session, principal), found, offset=page.offset, limit=page.size
    )


def list_versions(
    session: Session, *, code: str, principal: Principal | None
) -> list[ResourceVersion]:
    """Return an entry's version history, oldest first."""
    return repository.versions(session, _load(session, code, principal).id)


def to_read(resource: Resource) -> ResourceRead:
    """Return the API form of an entry."""
    snap = rules.snapshot(resource)
    return ResourceRead(
        **{k: v for k, v in snap.items() if k != "items"},
        items=[ItemRead(**item) for item in snap["items"]],
        status=resource.status,
        version=resource.version,
        category_code=resource.category_code,
        provider_name=resource.provider.name,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


def can_see(principal: Principal | None, resource: Resource) -> bool:
    """Return whether ``principal`` may read ``resource`` (drafts only for its administrators)."""
    if principal is None or principal.has_role("province_admin"):
        return True
    if resource.status in rules.PUBLIC_STATUSES:
        return True
    return principal.has_role("catalog_admin") and principal.department == resource.provider.code


def _today() -> date:
    return datetime.now(CHINA).date()


def _require_write(actor: Principal | None, authz: Authorizer | None, provider: str) -> None:
    if actor is not None and authz is not None:
        authz.require(actor, obj="catalog", act="write", domain=provider)


def _provider(session: Session, code: str) -> Department:
    department = departments.by_code(session, code)
    if department is None:
        raise InvalidInput(
            f"unknown provider department {code}",
            errors=[{"field": "provider", "message": f"no department with code {code}"}],
            message_key="refusal.catalogue.unknown_provider",
            message_params={"code": code},
        )
    return department


def _load(
    session: Session, code: str, principal: Principal | None, *, for_update: bool = False
) -> Resource:
    problem = rules.validate_code(code)
    if problem:
        errors = [{"field": "code", "message": problem}]
        raise InvalidInput(
            f"bad resource code {code!r}",
            errors=errors,
            message_key="refusal.catalogue.bad_resource_code",
            message_params={"code": code},
        )
    resource = repository.by_code(session, code, for_update=for_update)
    if resource is None or not can_see(principal, resource):
        raise NotFound(
            f"no resource with code {code}",
            message_key="refusal.catalogue.no_resource",
            message_params={"code": code},
        )
    return resource


def _visibility(session: Session, principal: Principal | None) -> Visibility:
    if principal is None or principal.has_role("province_admin"):
        return Visibility(everything=True)
    if principal.has_role("catalog_admin"):
        own = departments.by_code(session, principal.department)
        return Visibility(own_provider_id=own.id if own else None)
    return Visibility()


def _new_item(position: int, item: ItemIn) -> ResourceItem:
    return ResourceItem(position=position, **item.model_dump())


def _replace_items(resource: Resource, items: list[ItemIn]) -> None:
    # Update kept items in place: deleting and re-inserting a code in one flush would
    # trip the (resource_id, code) unique constraint, since inserts run before deletes.
    existing = {item.code: item for item in resource.items}
    replaced = []
    for position, item in enumerate(items):
        row = existing.get(item.code)
        if row is None:
            replaced.append(_new_item(position, item))
            continue
        row.position = position
        for field, value in item.model_dump().items():
            setattr(row, field, value)
        replaced.append(row)
    resource.items = replaced


def _flush(session: Session, code: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same code won the race
        raise Conflict(
            f"resource {code} already exists",
            code=code,
            message_key="refusal.catalogue.resource_exists",
            message_params={"code": code},
        ) from exc


def _record(
    session: Session,
    resource: Resource,
    kind: str,
    changes: list[dict[str, Any]],
    snap: dict[str, Any],
    actor: Principal | None,
) -> None:
    session.add(
        ResourceVersion(
            resource_id=resource.id,
            version=resource.version,
            change_kind=kind,
            changes=changes,
            snapshot=snap,
            actor=actor.subject if actor is not None else OPERATOR,
        )
    )
    session.flush()
