"""API shapes of the supervision report (督察评估)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

# OpenAPI examples: a month of 二手房交易过户 (esf-transfer) in the demo province.
_MATERIALS: JsonDict = {
    "fetched": 312,
    "submitted": 41,
    "must_submit": 27,
    "accepted_pending": 3,
    "refused": 1,
    "unavailable": 2,
    "pulled_share": 0.8211,
}
_HANDLING: JsonDict = {"completed": 36, "p50_seconds": 86400.0, "p95_seconds": 259200.0}
_BINDING: JsonDict = {
    "resource": "301001002/000002",
    "department": "zj-gat",
    "checks": 8640,
    "ok": 8633,
    "availability": 0.9992,
}
_CONNECTORS: JsonDict = {"checks": 8640, "ok": 8633, "availability": 0.9992, "bindings": [_BINDING]}
_FIGURES: JsonDict = {
    "applications": 40,
    "completed": 36,
    "completed_within_one_visit": 35,
    "one_visit_rate": 0.9722,
    "materials": _MATERIALS,
    "handling": _HANDLING,
    "overdue_grant_requests": 0,
    "overdue_objections": 1,
    "connectors": _CONNECTORS,
}
_ONE_THING: JsonDict = {
    **_FIGURES,
    "code": "esf-transfer",
    "name": "二手房交易过户一件事",
    "lead_department": "zj-zrzyt",
}
_DEPARTMENT: JsonDict = {
    **_FIGURES,
    "code": "zj-gat",
    "name": "浙江省公安厅",
    "parts": {"approved": 0, "rejected": 0, "pending": 0},
}
_PERIOD: JsonDict = {"from": "2026-10-28", "to": "2026-11-27", "as_of": "2026-11-27"}


class Read(BaseModel):
    """Base of the report shapes."""

    model_config = ConfigDict(populate_by_name=True)


class Materials(Read):
    """Materials of the applications accepted in the range, by how they were obtained."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MATERIALS]})

    fetched: int = 0
    submitted: int = 0
    must_submit: int = 0
    accepted_pending: int = 0
    refused: int = 0
    unavailable: int = 0
    pulled_share: float | None = Field(
        default=None, description="fetched ÷ (fetched + submitted + must_submit)"
    )


class Handling(Read):
    """Handling time (acceptance → completion) of the applications completed in the range."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HANDLING]})

    completed: int = 0
    p50_seconds: float | None = None
    p95_seconds: float | None = None


class BindingAvailability(Read):
    """One connector's health checks in the range."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BINDING]})

    resource: str
    department: str
    checks: int
    ok: int
    availability: float | None


class Connectors(Read):
    """Connector availability: the share of successful health checks in the range."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONNECTORS]})

    checks: int = 0
    ok: int = 0
    availability: float | None = None
    bindings: list[BindingAvailability] = Field(default_factory=list)


class Parts(Read):
    """A department's back-office parts: decided in the range, and pending now."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"approved": 12, "rejected": 1, "pending": 2}]}
    )

    approved: int = 0
    rejected: int = 0
    pending: int = 0


class Figures(Read):
    """The figures shared by a one-thing's and a department's line of the report."""

    applications: int = Field(default=0, description="accepted in the range")
    completed: int = Field(default=0, description="completed in the range")
    completed_within_one_visit: int = 0
    one_visit_rate: float | None = Field(
        default=None, description="最多跑一次 realisation: completed with ≤ 1 visit ÷ completed"
    )
    materials: Materials = Field(default_factory=Materials)
    handling: Handling = Field(default_factory=Handling)
    overdue_grant_requests: int = Field(default=0, description="pending past their due date")
    overdue_objections: int = Field(default=0, description="open past their due date")
    connectors: Connectors = Field(default_factory=Connectors)


class OneThingFigures(Figures):
    """One one-thing's line of the report."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ONE_THING]})

    code: str
    name: str
    lead_department: str


class DepartmentFigures(Figures):
    """One department's line: the applications it handles (as window or back office)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DEPARTMENT]})

    code: str
    name: str
    parts: Parts = Field(default_factory=Parts)


class Period(Read):
    """The range a report covers (China civil dates, both included)."""

    since: date = Field(serialization_alias="from")
    until: date = Field(serialization_alias="to")
    as_of: date = Field(description="the day overdue requests and objections are judged on")


class OneThingReport(Period):
    """The supervision report per one-thing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_PERIOD, "items": [_ONE_THING]}]})

    items: list[OneThingFigures]


class DepartmentReport(Period):
    """The supervision report per department."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_PERIOD, "items": [_DEPARTMENT]}]})

    items: list[DepartmentFigures]
