"""Connector bindings (资源挂接): which department source answers for a catalogue resource.

A binding is checked when it is saved: the adapter exists, its config is valid, every mapped
item belongs to the resource, the key item is mapped, files lie under the allowed roots,
and (unless ``verify=False``) the live source's ``describe()`` has every mapped column.
Secrets are stored encrypted with the hub secret; the config column keeps the rest, with
``**********`` where a secret was.

Functions that reach a source take ``run``: how to drive a coroutine from this synchronous
code (``anyio.from_thread.run`` in a request, so the app's pooled connectors stay on the
app's loop; ``asyncio.run`` from the CLI or a script).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from catalogs.resources import repository as resources
from catalogs.resources import rules as resource_rules
from catalogs.resources.models import Resource
from connectors import registry
from connectors.base import (
    Binding,
    BindingInvalid,
    Connector,
    Health,
    SourceColumn,
    SourceUnavailable,
)
from exchange.bindings import repository, rules, validation
from exchange.bindings.errors import SourceUnreachable
from exchange.bindings.models import ConnectorBinding, ConnectorCheck
from exchange.bindings.pool import ConnectorPool
from exchange.bindings.schemas import BindingRead, BindingWrite, CheckRead
from exchange.bindings.validation import Run
from exchange.bindings.validation import connector_binding as connector_binding
from exchange.bindings.validation import validation_context as validation_context
from exchange.core.errors import Forbidden, InvalidInput, NotFound
from exchange.core.pagination import PageParams
from exchange.core.settings import Settings
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal

T = TypeVar("T")


def run_here(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine function to completion in a fresh event loop (CLI, scripts).

    Called from inside a running loop, it runs in a thread of its own (and blocks the
    caller until done) rather than failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(fn())
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(fn())).result()


def put_binding(
    session: Session,
    *,
    code: str,
    data: BindingWrite,
    settings: Settings,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    verify: bool = True,
    pool: ConnectorPool | None = None,
    run: Run = run_here,
) -> tuple[ConnectorBinding, bool]:
    """Create or replace the binding of resource ``code``; return it and whether it is new."""
    resource = _resource(session, code)
    _require(actor, authz, "write", resource)
    existing = repository.by_resource_id(session, resource.id)
    config = validation.checked_config(data, existing, settings)
    problems = rules.mapping_problems([i.code for i in resource.items], data.key_item, data.columns)
    if problems:
        raise InvalidInput(
            f"the mapping does not fit resource {code}",
            errors=problems,
            message_key="refusal.bindings.mapping_mismatch",
            message_params={"code": code},
        )
    resilience = validation.checked_resilience(data.resilience)
    binding = Binding(code, data.adapter, config, data.key_item, dict(data.columns))
    if verify:
        validation.verify_columns(binding, settings, run)
    shown, secrets = rules.split_secrets(config)
    row = existing or ConnectorBinding(resource_id=resource.id)
    row.adapter = data.adapter
    row.config = shown
    row.secrets_encrypted = validation.encrypt_secrets(settings, secrets)
    row.key_item = data.key_item
    row.columns = dict(data.columns)
    row.resilience = resilience
    row.enabled = data.enabled
    session.add(row)
    session.flush()
    if pool is not None:
        pool.invalidate(code)
    return row, existing is None


def get_binding(
    session: Session, *, code: str, actor: Principal | None = None, authz: Authorizer | None = None
) -> ConnectorBinding:
    """Return the binding of resource ``code``, if the caller may administer it."""
    resource = _resource(session, code)
    _require(actor, authz, "read", resource)
    row = repository.by_resource_id(session, resource.id)
    if row is None:
        raise NotFound(
            f"resource {code} has no connector binding",
            message_key="refusal.bindings.not_bound",
            message_params={"code": code},
        )
    return row


def list_bindings(
    session: Session,
    *,
    page: PageParams,
    provider: str | None = None,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
) -> tuple[list[ConnectorBinding], int]:
    """Return the bindings the caller administers (all for the province), or one provider's."""
    if actor is not None and not actor.has_role("province_admin"):
        if authz is None:
            raise Forbidden("no authorizer to decide", message_key="refusal.bindings.no_authorizer")
        authz.require(actor, obj="binding", act="read", domain=actor.department)
        provider = actor.department
    provider_id = None
    if provider is not None:
        provider_id = repository.provider_id(session, provider) or -1
    return repository.page(session, provider_id=provider_id, offset=page.offset, limit=page.size)


def delete_binding(
    session: Session,
    *,
    code: str,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    pool: ConnectorPool | None = None,
) -> None:
    """Remove the binding of resource ``code`` (its checks go with it)."""
    resource = _resource(session, code)
    _require(actor, authz, "write", resource)
    row = repository.by_resource_id(session, resource.id)
    if row is None:
        raise NotFound(
            f"resource {code} has no connector binding",
            message_key="refusal.bindings.not_bound",
            message_params={"code": code},
        )
    session.delete(row)
    session.flush()
    if pool is not None:
        pool.invalidate(code)


def check_binding(
    session: Session,
    *,
    code: str,
    settings: Settings,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    pool: ConnectorPool | None = None,
    run: Run = run_here,
) -> ConnectorCheck:
    """Ask the source whether it answers, keep the result and return it."""
    row = get_binding(session, code=code, actor=actor, authz=authz)
    try:
        health: Health = _with_connector(row, settings, pool, run, lambda c: c.check())
    except SourceUnavailable as exc:  # an adapter whose check raises instead of reporting
        health = Health(ok=False, latency_ms=0.0, detail=f"{exc.reason}: {exc}")
    check = ConnectorCheck(
        binding_id=row.id, ok=health.ok, latency_ms=health.latency_ms, detail=health.detail
    )
    session.add(check)
    session.flush()
    return check


def describe_binding(
    session: Session,
    *,
    code: str,
    settings: Settings,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
    pool: ConnectorPool | None = None,
    run: Run = run_here,
) -> list[SourceColumn]:
    """List the columns the bound source offers."""
    row = get_binding(session, code=code, actor=actor, authz=authz)
    try:
        columns: list[SourceColumn] = _with_connector(
            row, settings, pool, run, lambda c: c.describe()
        )
    except SourceUnavailable as exc:
        raise SourceUnreachable(
            f"the source is unavailable ({exc.reason}): {exc}",
            message_key="refusal.bindings.source_unavailable",
            message_params={"reason": exc.reason, "error": str(exc)},
        ) from None
    except BindingInvalid as exc:
        raise InvalidInput(str(exc), errors=exc.problems or None) from None
    return columns


def list_checks(
    session: Session,
    *,
    code: str,
    page: PageParams,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
) -> tuple[list[ConnectorCheck], int]:
    """Return a binding's health checks, newest first."""
    row = get_binding(session, code=code, actor=actor, authz=authz)
    return repository.checks(session, row.id, offset=page.offset, limit=page.size)


def to_read(row: ConnectorBinding, last_check: ConnectorCheck | None = None) -> BindingRead:
    """Return the API form of a binding (secrets stay masked)."""
    return BindingRead(
        resource_code=row.resource.code,
        resource_name=row.resource.name,
        provider=row.resource.provider.code,
        adapter=row.adapter,
        config=row.config,
        key_item=row.key_item,
        columns=row.columns,
        resilience=row.resilience,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_check=CheckRead.model_validate(last_check, from_attributes=True)
        if last_check
        else None,
    )


def to_reads(session: Session, rows: list[ConnectorBinding]) -> list[BindingRead]:
    """Return the API forms of ``rows`` with their newest checks."""
    last = repository.last_checks(session, [r.id for r in rows])
    return [to_read(r, last.get(r.id)) for r in rows]


# ---- helpers --------------------------------------------------------------------------------


def _resource(session: Session, code: str) -> Resource:
    problem = resource_rules.validate_code(code)
    if problem:
        raise InvalidInput(
            f"bad resource code {code!r}",
            errors=[{"field": "code", "message": problem}],
            message_key="refusal.catalogue.bad_resource_code",
            message_params={"code": code},
        )
    resource = resources.by_code(session, code)
    if resource is None:
        raise NotFound(
            f"no resource with code {code}",
            message_key="refusal.catalogue.no_resource",
            message_params={"code": code},
        )
    return resource


def _require(
    actor: Principal | None, authz: Authorizer | None, act: str, resource: Resource
) -> None:
    if actor is None:
        return  # the CLI: a trusted operator on the hub's host
    if authz is None:
        raise Forbidden("no authorizer to decide", message_key="refusal.bindings.no_authorizer")
    authz.require(actor, obj="binding", act=act, domain=resource.provider.code)


def _with_connector(
    row: ConnectorBinding,
    settings: Settings,
    pool: ConnectorPool | None,
    run: Run,
    call: Callable[[Connector], Awaitable[Any]],
) -> Any:
    code = row.resource.code

    async def go() -> Any:
        if pool is not None and row.enabled:
            return await call(await pool.get(code))
        connector = registry.build(binding, max_rows=settings.connector_max_rows)
        try:
            return await call(connector)
        finally:
            await connector.close()

    try:
        binding = validation.connector_binding(row, settings)
        return run(go)
    except BindingInvalid as exc:
        raise InvalidInput(str(exc), errors=exc.problems or None) from None
