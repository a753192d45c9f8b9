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
