"""Checking a submission (受理前核验) before anything is stored.

``parse`` validates the body's shape; ``prepare`` checks it against the one-thing (一件事)
and the settings: the applicant's identifiers and the material keys (check digits), the
materials promised later (容缺, minor ones only, not in the past), the files brought, and
the budget. Every problem is named in one 422 (or a 413 when only files are too large).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from exchange.applications import repository as repo
from exchange.applications import rules
from exchange.applications.context import Context, invalid
from exchange.applications.fanout import MaterialSpec
from exchange.applications.files import IncomingFile, decode_files, file_problems, status_for
from exchange.applications.schemas import ApplicationSubmit
from exchange.core.errors import InvalidInput, PayloadTooLarge
from exchange.core.settings import Settings
from exchange.grants.policy import hub_today

CHECKED_KINDS = ("resident_id", "uscc")  # identifier kinds with a check digit


def parse(data: Any) -> ApplicationSubmit:
    """Validate a submission body (422 naming each bad field)."""
    try:
        return ApplicationSubmit.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise invalid(problems) from None


@dataclass(frozen=True)
class Prepared:
    """A valid submission, with the one-thing as it was read."""

    one_thing_id: int
    one_thing_code: str
    one_thing_name: str
    specs: tuple[MaterialSpec, ...]
    files: tuple[IncomingFile, ...]
    pending: Mapping[str, date]
    budget_seconds: float


def material_specs(session: Session, code: str) -> tuple[int, str, tuple[MaterialSpec, ...]]:
    """Return a one-thing's id, its name and the specs of its materials (422 if unknown)."""
    one_thing = repo.one_thing_by_code(session, code)
    if one_thing is None:
        message = f"no one-thing {code!r}"
        raise InvalidInput(message, errors=[{"field": "one_thing", "message": message}])
    specs = tuple(
        MaterialSpec(
            code=m.code,
            name=m.name,
            kind=m.kind,
            position=m.position,
            resource_code=m.resource_code,
            items=tuple(str(i) for i in m.items or []),
            key_identifier=m.key_identifier,
            minor=m.minor,
            commitment_allowed=m.commitment_allowed,
            service_item=m.service_item.code if m.service_item else None,
            purpose=m.service_item.code if m.service_item else one_thing.code,
        )
        for m in one_thing.materials
    )
    return one_thing.id, one_thing.name, specs


def identifier_problems(kind: str, value: str, field: str) -> list[dict[str, Any]]:
    """Return the problems of one key by its kind; ``…_resident_id``/``…_uscc`` are checked
    as resident IDs (GB 11643) and credit codes (GB 32100), like ``resident_id``/``uscc``."""
    base = next((k for k in CHECKED_KINDS if kind == k or kind.endswith(f"_{k}")), kind)
    return [
        {"field": field, "message": p["message"]} for p in rules.identifier_problems({base: value})
    ]


def prepare(
    session: Session, ask: ApplicationSubmit, *, settings: Settings, today: date
) -> Prepared:
    """Check a submission against the one-thing and the settings; raise 422/413 naming all."""
    one_thing_id, name, specs = material_specs(session, ask.one_thing)
    by_code = {s.code: s for s in specs}
    problems = rules.identifier_problems(ask.applicant.identifiers)
    checked = {p["field"] for p in problems}
    for kind, value in ask.applicant.identifiers.items():
        where = f"applicant.identifiers.{kind}"
        if where not in checked:
            problems += identifier_problems(kind, value, where)
    for code, value in ask.material_keys.items():
        where = f"material_keys.{code}"
        spec = by_code.get(code)
        if spec is None:
            problems.append({"field": where, "message": f"no material {code} in {ask.one_thing}"})
        elif spec.kind != "pullable":
            problems.append({"field": where, "message": f"material {code} is not pulled"})
        else:
            problems += identifier_problems(spec.key_identifier or "key", value, where)
    pending: dict[str, date] = {}
    for i, item in enumerate(ask.pending):
        where = f"pending[{i}]"
        spec = by_code.get(item.material)
        if spec is None:
            problems.append(
                {
                    "field": f"{where}.material",
                    "message": f"no material {item.material} in {ask.one_thing}",
                }
            )
        elif not spec.minor:
            problems.append(
                {
                    "field": f"{where}.material",
                    "message": f"material {item.material} is not minor (容缺): it cannot wait",
                }
            )
        elif item.material in pending:
            problems.append(
                {"field": f"{where}.material", "message": f"material {item.material} listed twice"}
            )
        elif item.promised_by < today:
            problems.append(
                {"field": f"{where}.promised_by", "message": f"{item.promised_by} is in the past"}
            )
        else:
            pending[item.material] = item.promised_by
    files, bad = decode_files([f.model_dump() for f in ask.files])
    bad += file_problems(files, known_materials=list(by_code), settings=settings)
    for i, f in enumerate(files):
        if f.material in pending:
            problems.append(
                {
                    "field": f"files[{i}].material",
                    "message": f"material {f.material} is both brought and promised (pending)",
                }
            )
    limit = settings.application_budget_seconds
    if ask.budget_ms is not None and ask.budget_ms > limit * 1000:
        problems.append({"field": "budget_ms", "message": f"at most {limit * 1000:g} ms"})
    if problems or (bad and status_for(bad) != 413):
        raise invalid(problems + bad)
    if bad:
        raise PayloadTooLarge(invalid(bad, "file over the limit").detail, errors=bad)
    budget = ask.budget_ms / 1000 if ask.budget_ms is not None else limit
    return Prepared(one_thing_id, ask.one_thing, name, specs, tuple(files), pending, budget)


def prepare_submission(ctx: Context, ask: ApplicationSubmit) -> Prepared:
    """Check a submission in a session of its own, as of the hub's today."""
    with ctx.factory() as session:
        return prepare(session, ask, settings=ctx.settings, today=hub_today())
