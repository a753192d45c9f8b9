"""Identity services: the systems and users registry, and the tokens the hub issues."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from exchange.core.errors import Conflict, InvalidInput, NotFound
from exchange.core.pagination import Page, PageParams
from exchange.core.settings import Settings
from exchange.identity import repository, rules
from exchange.identity.assertion import JWT_BEARER, spend_assertion, verify_client_assertion
from exchange.identity.errors import OAuthError, invalid_request
from exchange.identity.keys import KeyRing
from exchange.identity.models import System, User
from exchange.identity.principal import ROLES
from exchange.identity.schemas import USERNAME, SystemCreate, SystemRead, SystemUpdate
from exchange.identity.tokens import issue_access_token

USER_ROLES = ROLES - {"system"}
_TOKEN_PARAMS = ("grant_type", "client_assertion_type", "client_assertion", "client_id", "scope")


def system_read(system: System) -> SystemRead:
    """Return the API shape of ``system``."""
    return SystemRead(
        client_id=system.client_id,
        name=system.name,
        department=system.department.code,
        roles=list(system.roles),
        status=system.status,
        jwks=system.jwks,
        created_at=system.created_at,
    )


def _checked_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    problems = rules.jwks_problems(jwks)
    if problems:
        raise InvalidInput("jwks must hold public Ed25519 or P-256 signing keys", errors=problems)
    return {"keys": [dict(k) for k in jwks["keys"]]}


def register_system(session: Session, *, data: SystemCreate) -> System:
    """Register a department system with its public keys."""
    department = repository.department_by_code(session, data.department)
    if department is None:
        raise InvalidInput(
            f"unknown department {data.department}",
            errors=[{"field": "department", "message": "no department with this code"}],
        )
    if repository.system_by_client_id(session, data.client_id) is not None:
        raise Conflict(f"system {data.client_id} is already registered")
    jwks = _checked_jwks(data.jwks.model_dump())
    system = System(
        client_id=data.client_id,
        name=data.name,
        department_id=department.id,
        department=department,
        roles=sorted(set(data.roles)),
        jwks=jwks,
        status="active",
    )
    session.add(system)
    session.flush()
    return system


def get_system(session: Session, *, client_id: str) -> System:
    """Return the system registered as ``client_id``; raise ``NotFound``."""
    system = repository.system_by_client_id(session, client_id)
    if system is None:
        raise NotFound(f"no system {client_id}")
    return system


def update_system(session: Session, *, client_id: str, data: SystemUpdate) -> System:
    """Rename, enable or disable a system, or replace its public keys."""
    system = get_system(session, client_id=client_id)
    if data.jwks is not None:
        system.jwks = _checked_jwks(data.jwks.model_dump())
    if data.name is not None:
        system.name = data.name
    if data.status is not None:
        system.status = data.status
    session.flush()
    return system


def list_systems(
    session: Session, *, page: PageParams, department: str | None, status: str | None
) -> Page[SystemRead]:
    """Return one page of registered systems, optionally of one department or status."""
    department_id: int | None = None
    if department is not None:
        found = repository.department_by_code(session, department)
        if found is None:
            return Page(items=[], total=0, page=page.page, size=page.size)
        department_id = found.id
    rows, total = repository.list_systems(
        session, department_id=department_id, status=status, offset=page.offset, limit=page.size
    )
    return Page(items=[system_read(s) for s in rows], total=total, page=page.page, size=page.size)


def add_user(
    session: Session,
    *,
    username: str,
    department: str,
    roles: Sequence[str],
    display_name: str | None = None,
) -> User:
    """Register a person (catalogue admin, province admin or auditor) in a department."""
    errors: list[dict[str, str]] = []
    if not re.fullmatch(USERNAME, username):
        errors.append({"field": "username", "message": f"must match {USERNAME}"})
    for i, role in enumerate(roles):
        if role not in USER_ROLES:
            errors.append({"field": f"roles[{i}]", "message": f"one of {sorted(USER_ROLES)}"})
    if not roles:
        errors.append({"field": "roles", "message": "at least one role"})
    dept = repository.department_by_code(session, department)
    if dept is None:
        errors.append({"field": "department", "message": f"no department {department}"})
    if errors or dept is None:
        raise InvalidInput("invalid user", errors=errors)
    if repository.user_by_username(session, username) is not None:
        raise Conflict(f"user {username} already exists")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:200] or username,
        department_id=dept.id,
        department=dept,
        roles=sorted(set(roles)),
        status="active",
    )
    session.add(user)
    session.flush()
    return user


def issue_user_token(
    session: Session, keyring: KeyRing, settings: Settings, *, username: str, ttl: int | None
) -> tuple[str, dict[str, Any]]:
    """Issue an access token for an active user (the way people get tokens for now)."""
    user = repository.user_by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username}")
    if user.status != "active":
        raise InvalidInput(f"user {username} is {user.status}")
    return issue_access_token(
        keyring,
        settings,
        subject=f"user:{user.username}",
        kind="user",
        department=user.department.code,
        roles=user.roles,
        ttl_seconds=ttl,
    )


def client_credentials(
    session: Session, keyring: KeyRing, settings: Settings, *, params: Mapping[str, list[str]]
) -> dict[str, Any]:
    """Exchange a client assertion for an access token (RFC 6749 §4.4 with RFC 7523)."""
    form = _single_values(params)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
    assertion_type = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    if not assertion_type or not assertion:
        raise invalid_request("client_assertion_type and client_assertion are required")
    if assertion_type != JWT_BEARER:
        raise OAuthError("invalid_client", f"client_assertion_type must be {JWT_BEARER}")
    system, assertion_claims = verify_client_assertion(
        session, settings, assertion=assertion, client_id=form.get("client_id") or None
    )
    # Sign before spending the jti: the key ring may touch the database (first key,
    # refresh), and SQLite must not see that while this transaction holds the write lock.
    token, claims = issue_access_token(
        keyring,
        settings,
        subject=system.client_id,
        kind="system",
        department=system.department.code,
        roles=system.roles,
        client_id=system.client_id,
    )
    spend_assertion(session, settings, client_id=system.client_id, claims=assertion_claims)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(claims["exp"]) - int(claims["iat"]),
    }


def _single_values(params: Mapping[str, list[str]]) -> dict[str, str]:
    form: dict[str, str] = {}
    for name in _TOKEN_PARAMS:
        values = params.get(name, [])
        if len(values) > 1:
            # RFC 6749 §3.2: parameters must not be included more than once.
            raise invalid_request(f"{name} is repeated")
        if values:
            form[name] = values[0]
    return form
