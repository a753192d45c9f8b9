"""Traffic the fault matrix sends through the hub, and what it observed of each source.

Extension point: a ``Traffic`` sends one round of requests touching every source and
returns one ``Observation`` per source it touched. ``PullTraffic`` is the record-pull
flow (``POST /v1/records/{code}/lookup``); ``ApplicationTraffic`` submits an application
(``POST /v1/applications``) whose materials are pulled from those sources, and reads each
material's status from the case file. Adding a flow is adding a class with ``name`` and
``exercise``, and passing it to ``Matrix(traffic=[...])``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from faults.proxy import BackgroundProxy

Outcome = Literal["ok", "unavailable", "other"]


@dataclass(frozen=True, eq=False)
class Source:
    """A source behind a fault proxy: its resource, a key it holds, items to ask for."""

    resource: str
    proxy: BackgroundProxy
    key: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Observation:
    """One source as one request saw it."""

    traffic: str
    source: str  # 资源代码
    status: int  # the HTTP status of the request
    outcome: Outcome  # what the request said of this source
    reason: str | None  # why it was unavailable (SourceUnavailable.reason), if it was
    elapsed: float
    budget: float  # the time the hub promises for this request
    problem_type: str | None = None
    retry_after: str | None = None
    says_reason: bool = True  # False: this traffic's answers do not name the source's reason


class Traffic(Protocol):
    """A kind of request the matrix sends (see the module docstring)."""

    name: str

    def exercise(self, client: httpx.Client, sources: Sequence[Source]) -> list[Observation]:
        """Send one round touching every source; return what each request said of each."""
        ...


def _problem(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return {}


@dataclass
class PullTraffic:
    """Record pulls: one ``POST /v1/records/{code}/lookup`` per source."""

    headers: dict[str, str]
    purpose: str
    budget: float  # the source deadline (the binding's resilience deadline)
    name: str = "pull"

    def exercise(self, client: httpx.Client, sources: Sequence[Source]) -> list[Observation]:
        """Pull one key from every source."""
        seen = []
        for source in sources:
            body = {"keys": [source.key], "items": list(source.items), "purpose": self.purpose}
            started = time.monotonic()
            response = client.post(
                f"/v1/records/{source.resource}/lookup", json=body, headers=self.headers
            )
            elapsed = time.monotonic() - started
            problem = _problem(response)
            slug = str(problem.get("type", "")).rsplit("/", 1)[-1] or None
            outcome: Outcome = "other"
            if response.status_code == 200:
                outcome = "ok"
            elif response.status_code == 503 and slug == "source-unavailable":
                outcome = "unavailable"
            seen.append(
                Observation(
                    traffic=self.name,
                    source=source.resource,
                    status=response.status_code,
                    outcome=outcome,
                    reason=problem.get("source_reason"),
                    elapsed=elapsed,
                    budget=self.budget,
                    problem_type=slug,
                    retry_after=response.headers.get("retry-after"),
                )
            )
        return seen


_REASONS = (
    "circuit_open",
    "rate_limited",
    "bad_response",
    "unreachable",
    "overloaded",
    "timeout",
    "error",
)


_MATERIAL_OUTCOMES: dict[str, Outcome] = {"fetched": "ok", "unavailable": "unavailable"}


def _reason_in(text: str | None) -> str | None:
    """Return the source reason a material's free-text reason names (None: none)."""
    for reason in _REASONS:
        if text and reason in text:
            return reason
    return None


@dataclass
class ApplicationTraffic:
    """Applications: ``POST /v1/applications``; each pullable material's status per source.

    A material pulled from a source is "ok" when ``fetched`` and "unavailable" when
    ``unavailable`` (the hub retries it later); a source no material of the submission
    reads is not observed. The budget is the hub's total pull budget for a submission.
    """

    headers: dict[str, str]
    body: dict[str, Any]
    budget: float  # application_budget_seconds
    name: str = "application"

    def exercise(self, client: httpx.Client, sources: Sequence[Source]) -> list[Observation]:
        """Submit one application; report the materials read from ``sources``."""
        started = time.monotonic()
        response = client.post(
            "/v1/applications",
            json=self.body,
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        elapsed = time.monotonic() - started
        codes = {s.resource for s in sources}
        problem = _problem(response)
        slug = str(problem.get("type", "")).rsplit("/", 1)[-1] or None
        if response.status_code not in (200, 201):
            return [
                Observation(self.name, code, response.status_code, "other", None, elapsed,
                            self.budget, slug, response.headers.get("retry-after"))
                for code in sorted(codes)
            ]  # fmt: skip
        seen = []
        for material in response.json().get("materials", []):
            code = material.get("resource")
            if code not in codes:
                continue
            status = material.get("status")
            outcome: Outcome = (
                "ok"
                if status == "fetched"
                else "unavailable"
                if status == "unavailable"
                else "other"
            )
            seen.append(
                Observation(
                    traffic=self.name,
                    source=code,
                    status=response.status_code,
                    outcome=outcome,
                    reason=_reason_in(material.get("reason")) if outcome != "ok" else None,
                    elapsed=elapsed,
                    budget=self.budget,
                    says_reason=False,  # a material's reason is the pull's message, free text
                )
            )
        return seen
