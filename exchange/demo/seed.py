"""Seed the demo province (浙江省) through the domain services, so every rule applies.

The demo is idempotent: what already exists is left as it is (an administrator may have
edited it), only what is missing is created, and a draft demo resource is published.
Each demo system's private key lives in ``key_dir/<client_id>.jwk.json`` (mode 0600) and is
reused on later runs; only its public half is registered with the hub.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalogs.departments import repository as departments_repo
from catalogs.departments.schemas import DepartmentCreate
from catalogs.departments.service import create_department
from catalogs.onethings import repository as onethings_repo
from catalogs.onethings.schemas import OneThingCreate, ServiceItemCreate
from catalogs.onethings.service import create_one_thing, create_service_item
from catalogs.resources import repository as resources_repo
from catalogs.resources.schemas import ResourceCreate
from catalogs.resources.service import change_status, create_resource
from exchange.core.settings import Settings
from exchange.demo.sources.bindings import HttpDepartment, apply_bindings
from exchange.demo.sources.generate import Sources
from exchange.grants.decisions import approve
from exchange.grants.demand import file_demand
from exchange.grants.schemas import Approval
from exchange.identity import repository as identity_repo
from exchange.identity import rules as key_rules
from exchange.identity.clients import generate_key_pair
from exchange.identity.schemas import SystemCreate, SystemUpdate
from exchange.identity.service import add_user, register_system, update_system

PROVINCE_FILE = Path(__file__).with_name("province.json")
# The system the README's first command prints a token for: the 不动产登记 一窗受理 window.
DEMO_WINDOW_CLIENT = "zj-zrzyt-window"

Progress = Callable[[str], None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemoSystem(_Strict):
    """A demo department system; its key pair is made by the seeder."""

    client_id: str
    name: str
    department: str
    roles: list[str] = Field(default_factory=lambda: ["system"])


class DemoUser(_Strict):
    """A demo person (data administrator, province administrator, auditor)."""

    username: str
    display_name: str
    department: str
    roles: list[str]


class DemoProvince(_Strict):
    """The demo province file: every element in the shared JSON forms."""

    departments: list[DepartmentCreate]
    resources: list[ResourceCreate]
    service_items: list[ServiceItemCreate]
    one_things: list[OneThingCreate]
    systems: list[DemoSystem]
    users: list[DemoUser]


@dataclass(frozen=True)
class SeedResult:
    """What the demo holds after seeding, and what this run created."""

    departments: int
    resources: int
    service_items: int
    one_things: int
    systems: int
    users: int
    created: dict[str, int]
    key_files: dict[str, Path] = field(default_factory=dict)
    bindings: dict[str, int] = field(default_factory=dict)  # outcome → count (with sources)

    @property
    def counts(self) -> dict[str, int]:
        """Return the demo's size per kind of object."""
        return {
            "departments": self.departments,
            "resources": self.resources,
            "service_items": self.service_items,
            "one_things": self.one_things,
            "systems": self.systems,
            "users": self.users,
        }


def load_province(path: Path = PROVINCE_FILE) -> DemoProvince:
    """Read and validate the demo province file."""
    return DemoProvince.model_validate_json(path.read_text(encoding="utf-8"))


def seed_demo(
    session: Session,
    *,
    key_dir: Path,
    province: DemoProvince | None = None,
    progress: Progress | None = None,
    sources: Sources | None = None,
    settings: Settings | None = None,
    http: HttpDepartment | None = None,
) -> SeedResult:
    """Create what the demo province lacks in the database; flush, the caller commits.

    With ``sources`` (the departments' generated data) and ``settings``, the demo resources
    are also bound to that data through the bindings service; ``http`` says where the HTTP
    department's API answers.
    """
    demo = province or load_province()
    say: Progress = progress or (lambda _message: None)
    created = {
        "departments": _departments(session, demo),
        "resources": _resources(session, demo),
        "service_items": _service_items(session, demo),
        "one_things": _one_things(session, demo),
    }
    systems_created, key_files = _systems(session, demo, key_dir)
    created["systems"] = systems_created
    created["users"] = _users(session, demo)
    for kind, count in created.items():
        total = len(getattr(demo, kind))
        say(f"  {kind:<14} {total:>3} in the demo, {count:>3} created")
    bindings: dict[str, int] = {}
    if sources is not None:
        if settings is None:
            raise ValueError("binding the demo sources needs the hub's settings")
        bindings = apply_bindings(
            session, sources=sources, settings=settings, http=http, progress=say
        )
        created["bindings"] = bindings["created"] + bindings["updated"]
        created["grants"] = _grants(session, settings, say)
    return SeedResult(
        departments=len(demo.departments),
        resources=len(demo.resources),
        service_items=len(demo.service_items),
        one_things=len(demo.one_things),
        systems=len(demo.systems),
        users=len(demo.users),
        created=created,
        key_files=key_files,
        bindings=bindings,
    )


def _departments(session: Session, demo: DemoProvince) -> int:
    created = 0
    # Parents first, whatever order the file lists them in.
    pending = list(demo.departments)
    while pending:
        ready = [d for d in pending if d.parent is None or d.parent not in _codes(pending)]
        if not ready:
            raise ValueError("demo departments have a parent cycle")
        for data in ready:
            if departments_repo.by_code(session, data.code) is None:
                create_department(session, data=data)
                created += 1
        pending = [d for d in pending if d not in ready]
    return created


def _codes(departments: list[DepartmentCreate]) -> set[str]:
    return {d.code for d in departments}


def _resources(session: Session, demo: DemoProvince) -> int:
    created = 0
    for data in demo.resources:
        resource = resources_repo.by_code(session, data.code)
        if resource is None:
            create_resource(session, data=data, actor=None, authz=None)
            created += 1
            status = "draft"
        else:
            status = resource.status
        if status == "draft":
            change_status(session, code=data.code, status="published", actor=None, authz=None)
    return created


def _service_items(session: Session, demo: DemoProvince) -> int:
    created = 0
    for data in demo.service_items:
        if onethings_repo.service_item_by_code(session, data.code) is None:
            create_service_item(session, data=data, actor=None, authz=None)
            created += 1
    return created


def _one_things(session: Session, demo: DemoProvince) -> int:
    created = 0
    for data in demo.one_things:
        if onethings_repo.one_thing_by_code(session, data.code) is None:
            create_one_thing(session, data=data, actor=None, authz=None)
            created += 1
    return created


def _systems(session: Session, demo: DemoProvince, key_dir: Path) -> tuple[int, dict[str, Path]]:
    created = 0
    key_files: dict[str, Path] = {}
    for spec in demo.systems:
        path = key_dir / f"{spec.client_id}.jwk.json"
        public = key_rules.public_part(ensure_private_key(path))
        key_files[spec.client_id] = path
        system = identity_repo.system_by_client_id(session, spec.client_id)
        if system is None:
            register_system(
                session,
                data=SystemCreate.model_validate({**spec.model_dump(), "jwks": {"keys": [public]}}),
            )
            created += 1
        elif key_rules.find_key(system.jwks, public["kid"]) is None:
            # A new key directory (or a lost key file): register the key now on disk beside
            # the system's other keys, dropping the oldest beyond the registry's limit.
            keys = [*(system.jwks.get("keys") or []), public][-key_rules.MAX_KEYS :]
            update = SystemUpdate.model_validate({"jwks": {"keys": keys}})
            update_system(session, client_id=spec.client_id, data=update)
    return created, key_files


def _users(session: Session, demo: DemoProvince) -> int:
    created = 0
    for spec in demo.users:
        if identity_repo.user_by_username(session, spec.username) is None:
            add_user(
                session,
                username=spec.username,
                department=spec.department,
                roles=spec.roles,
                display_name=spec.display_name,
            )
            created += 1
    return created


def ensure_private_key(path: Path) -> dict[str, Any]:
    """Return the private JWK stored at ``path``, creating an Ed25519 one (0600) if absent."""
    if path.exists():
        jwk: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        key_rules.private_key(jwk)  # refuse a damaged file rather than replace a real key
        jwk.setdefault("kid", key_rules.thumbprint(jwk))
        return jwk
    private, _public = generate_key_pair()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: never overwrite a key another process wrote meanwhile; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(private, handle, indent=2)
        handle.write("\n")
    return private


# Each one-thing's window department holds the grants its pullable materials need, so the
# demo's pulls and applications work out of the box (as if the providers had approved).
DEMO_WINDOWS = (("esf-transfer", "zj-zrzyt"), ("newborn", "zj-wjw"), ("company-start", "zj-scjgj"))


def grant_window(
    session: Session,
    *,
    one_thing: str,
    consumer: str,
    settings: Settings,
    reason: str = "演示数据：提供方已审核同意",
) -> int:
    """File ``consumer``'s missing grant requests for ``one_thing``, approve the pending ones.

    As if each provider had approved (``reason``); flushes, the caller commits. Returns how
    many requests the filing names (already granted ones included).
    """
    filing = file_demand(
        session,
        code=one_thing,
        consumer=consumer,
        dry_run=False,
        principal=None,
        authz=None,
        settings=settings,
    )
    for planned in filing.requests:
        if planned.grant is not None and planned.grant.status == "pending":
            approve(
                session,
                grant_id=planned.grant.id,
                data=Approval(reason=reason),
                actor=None,
                authz=None,
            )
    return len(filing.requests)


def _grants(session: Session, settings: Settings, say: Progress) -> int:
    """File the demo windows' missing grant requests and approve the pending ones."""
    filed = 0
    for one_thing, consumer in DEMO_WINDOWS:
        count = grant_window(session, one_thing=one_thing, consumer=consumer, settings=settings)
        filed += count
        say(f"  grants         {consumer} for {one_thing}: {count} filed")
    return filed
