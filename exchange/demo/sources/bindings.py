"""Bind the demo catalogue's resources to the demo departments' data, through the bindings service.

``exchange/demo/bindings.json`` says, per resource, which generated dataset answers for it,
the lookup key item and the item → source column mapping (the departments' own column
names). The adapter and its config follow from where the dataset was written: a SQL
database (SQLite file, PostgreSQL, MariaDB), a DuckDB file, Parquet or CSV files, or the
HTTP department's API. Applying is idempotent: an identical binding is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from catalogs.resources import repository as resources_repo
from connectors import registry
from connectors.base import BindingInvalid
from exchange.bindings import repository as bindings_repo
from exchange.bindings.models import ConnectorBinding
from exchange.bindings.schemas import BindingWrite
from exchange.bindings.service import connector_binding, put_binding, validation_context
from exchange.core.settings import Settings
from exchange.demo.sources import cast
from exchange.demo.sources.generate import Sources
from exchange.demo.sources.http_department import API_KEY_HEADER, DATASETS
from exchange.demo.sources.store import DUCKDB_TYPES

BINDINGS_FILE = Path(__file__).parents[1] / "bindings.json"

# How the HTTP department's JSON carries the types JSON lacks.
_HTTP_TYPES = {"date": "date", "datetime": "datetime", "int": "integer", "decimal": "decimal"}

Progress = Callable[[str], None]


class DemoBinding(BaseModel):
    """One resource's binding in ``bindings.json``."""

    model_config = ConfigDict(extra="forbid")

    resource: str
    dataset: str  # <department>.<table or file stem>
    key_item: str
    columns: dict[str, str]


class DemoBindings(BaseModel):
    """The demo bindings file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    comment: str = Field(default="", alias="_comment")
    bindings: list[DemoBinding]


@dataclass(frozen=True)
class HttpDepartment:
    """Where the HTTP department's API answers, its key, and whether it is running now."""

    base_url: str
    api_key: str
    running: bool = True


def load_bindings(path: Path = BINDINGS_FILE) -> list[DemoBinding]:
    """Read and validate the demo bindings file."""
    return DemoBindings.model_validate_json(path.read_text(encoding="utf-8")).bindings


def binding_body(
    spec: DemoBinding, sources: Sources, http: HttpDepartment | None
) -> BindingWrite | None:
    """Return the binding for ``spec`` on the generated data (None: the API is not known)."""
    kind, where = sources.location(spec.dataset)
    table = spec.dataset.split(".", 1)[1]
    types = dict(sources.columns(spec.dataset))
    config: dict[str, Any]
    if kind in ("sqlite", "postgresql", "mysql"):
        adapter, config = "sql", {"url": where, "table": table}
    elif kind == "duckdb":
        adapter, config = "duckdb", {"path": where, "table": table}
    elif kind == "parquet":
        adapter, config = "duckdb", {"path": where}
    elif kind == "csv":
        # Typed as written, not sniffed: IDs stay text, amounts stay exact.
        csv_types = {name: DUCKDB_TYPES[t] for name, t in types.items() if t != "blob"}
        adapter, config = "duckdb", {"path": where, "csv_types": csv_types}
    else:
        if http is None:
            return None
        endpoint = next(name for name, (tbl, _key) in DATASETS.items() if tbl == table)
        adapter, config = (
            "http",
            {
                "url": f"{http.base_url.rstrip('/')}/api/v1/{endpoint}/query",
                "method": "POST",
                "key_param": DATASETS[endpoint][1],
                "fields_param": "fields",
                "records_path": "data.items",
                "auth_header": API_KEY_HEADER,
                "auth_value": http.api_key,
                "field_types": {
                    name: _HTTP_TYPES[t]
                    for name, t in types.items()
                    if t in _HTTP_TYPES and name in spec.columns.values()
                },
                "sample_key": cast.BUYER_ID,
            },
        )
    return BindingWrite(
        adapter=adapter, config=config, key_item=spec.key_item, columns=spec.columns
    )


def apply_bindings(
    session: Session,
    *,
    sources: Sources,
    settings: Settings,
    http: HttpDepartment | None = None,
    verify: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Create or update the demo bindings; flush, the caller commits. Return counts by outcome.

    ``verify`` asks each source's ``describe()`` that the mapped columns exist (the HTTP
    department only when it is running).
    """
    say: Progress = progress or (lambda _m: None)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    known = set(registry.available())
    for spec in load_bindings():
        body = binding_body(spec, sources, http)
        resource = resources_repo.by_code(session, spec.resource)
        if body is None or resource is None or body.adapter not in known:
            counts["skipped"] += 1
            why = "no such resource" if resource is None else "its source is not reachable"
            if body is not None and body.adapter not in known:
                why = f"no {body.adapter} adapter"
            say(f"  binding {spec.resource} skipped: {why}")
            continue
        existing = bindings_repo.by_resource_id(session, resource.id)
        if existing is not None and _same(existing, body, settings):
            counts["unchanged"] += 1
            continue
        live = verify and (body.adapter != "http" or (http is not None and http.running))
        put_binding(session, code=spec.resource, data=body, settings=settings, verify=live)
        counts["created" if existing is None else "updated"] += 1
    say(
        "  bindings       "
        + ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n or outcome == "created")
    )
    return counts


def _same(row: ConnectorBinding, body: BindingWrite, settings: Settings) -> bool:
    """Tell whether the stored binding already says what ``body`` says (secrets included)."""
    if (row.adapter, row.key_item, row.columns, row.enabled) != (
        body.adapter,
        body.key_item,
        dict(body.columns),
        body.enabled,
    ):
        return False
    try:
        stored = connector_binding(row, settings).config
        wanted = registry.parse_config(
            body.adapter, dict(body.config), context=validation_context(settings)
        )
    except (BindingInvalid, ValidationError):
        return False
    return bool(stored.model_dump() == wanted.model_dump())
