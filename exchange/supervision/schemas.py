"""API shapes of the supervision report (督察评估)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Read(BaseModel):
    """Base of the report shapes."""

    model_config = ConfigDict(populate_by_name=True)


class Materials(Read):
    """Materials of the applications accepted in the range, by how they were obtained."""

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

    completed: int = 0
    p50_seconds: float | None = None
    p95_seconds: float | None = None


class BindingAvailability(Read):
    """One connector's health checks in the range."""

    resource: str
    department: str
    checks: int
    ok: int
    availability: float | None


class Connectors(Read):
    """Connector availability: the share of successful health checks in the range."""

    checks: int = 0
    ok: int = 0
    availability: float | None = None
    bindings: list[BindingAvailability] = Field(default_factory=list)


class Parts(Read):
    """A department's back-office parts: decided in the range, and pending now."""

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

    code: str
    name: str
    lead_department: str


class DepartmentFigures(Figures):
    """One department's line: the applications it handles (as window or back office)."""

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

    items: list[OneThingFigures]


class DepartmentReport(Period):
    """The supervision report per department."""

    items: list[DepartmentFigures]
