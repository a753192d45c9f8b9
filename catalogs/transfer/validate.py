"""Check every entry of an import file against the schema and the database before any write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource
from catalogs.resources.rules import STATUSES, snapshot
from catalogs.resources.schemas import ResourceCreate
from catalogs.transfer import repository
from catalogs.transfer.rules import clean_message, status_path
from catalogs.transfer.schemas import Action, ImportMode
from catalogs.transfer.source import Entry, ErrorList, Location
from exchange.core.errors import Forbidden
from exchange.identity.authz import Authorizer
from exchange.identity.principal import Principal

# Read-only members of the API's read form: accepted (so a saved API response imports) and ignored.
READ_ONLY = ("version", "category_code", "provider_name", "created_at", "updated_at")


@dataclass
class Planned:
    """One valid entry and what importing it will do."""

    entry: Entry
    data: ResourceCreate
    existing: Resource | None
    changed: bool = False  # the stored entry differs from the file
    moves: list[str] = field(default_factory=list)  # lifecycle steps to the file's status

    @property
    def action(self) -> Action:
        """Return created, updated or unchanged."""
        if self.existing is None:
            return "created"
        return "updated" if self.changed or self.moves else "unchanged"


def validate(
    session: Session,
    entries: list[Entry],
    *,
    errors: ErrorList,
    mode: ImportMode,
    actor: Principal | None = None,
    authz: Authorizer | None = None,
) -> list[Planned]:
    """Return the plan for the valid entries; record every problem in ``errors``.

    Raises Forbidden first, listing the rows, if the actor may not write one of the departments.
    """
    providers = [e.data.get("provider") for e in entries]
    departments = repository.departments_by_code(
        session, [p for p in providers if isinstance(p, str)]
    )
    existing = repository.resources_by_code(session, [e.code for e in entries if e.code])
    if actor is not None and authz is not None:
        _check_permissions(entries, departments.keys(), existing, actor=actor, authz=authz)
    plan: list[Planned] = []
    first_seen: dict[str, Entry] = {}
    for entry in entries:
        wanted = _take_extras(entry, errors)
        provider = entry.data.get("provider")
        if isinstance(provider, str) and provider and provider not in departments:
            errors.at(entry.where(("provider",)), f"no department with code {provider!r}")
        if entry.code in first_seen:
            earlier = first_seen[entry.code].where(("code",))
            errors.at(entry.where(("code",)), f"the same 资源代码 is already at {_place(earlier)}")
            continue
        first_seen.setdefault(entry.code, entry)
        stored = existing.get(entry.code)
        if stored is not None and mode == "create-only":
            errors.at(
                entry.where(("code",)), f"resource {entry.code} already exists (mode create-only)"
            )
        moves: list[str] = []
        if wanted is not None:
            start = stored.status if stored is not None else "draft"
            path = status_path(start, wanted)
            if path is None:
                message = (
                    f"cannot move from {start} to {wanted} (draft → published → deprecated → "
                    "retired); leave the status blank to keep it"
                )
                errors.at(entry.where(("status",)), message)
            moves = path or []
        try:
            data = ResourceCreate.model_validate(entry.data)
        except ValidationError as exc:
            for e in exc.errors():
                errors.at(entry.where(tuple(e["loc"])), clean_message(e["msg"]))
            continue
        changed = stored is not None and snapshot(stored) != data.model_dump(mode="json")
        plan.append(Planned(entry, data, stored, changed, moves))
        if errors.full:
            break
    return plan


def _take_extras(entry: Entry, errors: ErrorList) -> str | None:
    """Remove the members ResourceCreate does not take; return the wanted status, if any."""
    for key in READ_ONLY:
        entry.data.pop(key, None)
    status: Any = entry.data.pop("status", None)
    if status is None or status == "":
        return None
    if status not in STATUSES:
        errors.at(
            entry.where(("status",)), f"unknown status {status!r}; use one of {', '.join(STATUSES)}"
        )
        return None
    return str(status)


def _check_permissions(
    entries: list[Entry],
    known_departments: Any,
    existing: dict[str, Resource],
    *,
    actor: Principal,
    authz: Authorizer,
) -> None:
    """Raise Forbidden listing each row of a department (new or current) the actor cannot write."""
    denied: list[Location] = []
    departments: set[str] = set()
    for entry in entries:
        provider = entry.data.get("provider")
        targets = (
            {provider} if isinstance(provider, str) and provider in known_departments else set()
        )
        if entry.code in existing:
            targets.add(existing[entry.code].provider.code)
        for department in sorted(targets):
            if authz.allowed(actor, obj="catalog", act="write", domain=department):
                continue
            departments.add(department)
            message = f"{actor.subject} may not write the catalogue of department {department}"
            denied += [{**where, "message": message} for where in _all_rows(entry)]
    if denied:
        raise Forbidden(
            f"{len(denied)} row(s) belong to departments {actor.subject} may not write "
            f"({', '.join(sorted(departments))}); nothing was imported",
            errors=denied,
        )


def _all_rows(entry: Entry) -> list[Location]:
    where = entry.where(("provider",))
    if entry.line is None:
        return [where]
    lines = sorted({entry.line, *entry.item_lines})
    return [{**where, "line": line} for line in lines]


def _place(location: Location) -> str:
    if location.get("line") is not None:
        return f"line {location['line']}"
    return str(location.get("pointer"))
