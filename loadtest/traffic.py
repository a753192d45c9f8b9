"""The load generator: concurrent asyncio clients over the hub processes, every answer kept.

Each client picks the traffic that lags behind its target (pulls or applications), so the
mix stays even from start to end. A pull that loses its connection is tried once more on
another hub, as a load balancer would. An application is submitted with its own
``Idempotency-Key`` and, until it is accepted or its deadline passes, submitted again with
the same key: on another hub after a lost connection, after ``Retry-After`` on a 409 (the
key is still in flight somewhere). Accepted ones have their case file read, and one in ten
is submitted once more to check that the replay answers the same bytes.

Every attempt is kept (kind, status, latency, request id, the access-log sequence numbers
and digest it was answered with) for the checks against the database afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from loadtest.workload import Request, Workload

TOKEN_REFRESH_SECONDS = 1800.0


@dataclass
class Attempt:
    """One HTTP request and what came back (status 0: no answer, the connection was lost)."""

    kind: str  # pull, pull-get, submit, read, replay (probe: a pull before the load)
    status: int
    ms: float
    request_id: str
    hub: int
    error: str | None = None
    seqs: tuple[int, int] | None = None  # X-Audit-Seq of a pull
    digest: str | None = None  # hex SHA-256 of the records (Records-Digest)
    keys: int = 0
    number: str | None = None  # the application's number (submit, read, replay)
    body_sha256: str | None = None
    fetched: tuple[tuple[int, str], ...] = ()  # (audit_seq, evidence_sha256) per material
    detail: str | None = None  # an error's problem detail (what the hub said went wrong)

    @property
    def ok(self) -> bool:
        """Tell whether the hub answered 2xx."""
        return 200 <= self.status < 300


@dataclass
class Case:
    """One application as its window system lives it: the submits until it is accepted."""

    key: str
    number: str | None = None
    status: int = 0  # the last answer (201: accepted)
    attempts: int = 0
    cut: int = 0  # attempts whose connection was lost (the hub was killed)
    in_flight: int = 0  # 409 answers: the key was still held by another attempt
    ms: float = 0.0  # first attempt to the last answer
    body_sha256: str | None = None
    replay_same: bool | None = None


class Balancer:
    """Round robin over the hubs that are up; one that fails a connection rests a second."""

    def __init__(self, count: int, *, rest: float = 1.0) -> None:
        self.rest = rest
        self.down_until = [0.0] * count
        self.held = [False] * count
        self.in_flight = [0] * count
        self._turn = itertools.count()

    def pick(self, avoid: int | None = None) -> int | None:
        """Return the next hub to use (another than ``avoid`` if possible), None if none is up."""
        now = time.monotonic()
        up = [i for i in range(len(self.held)) if not self.held[i] and self.down_until[i] <= now]
        if not up:
            return None
        others = [i for i in up if i != avoid] or up
        return others[next(self._turn) % len(others)]

    def hold(self, index: int) -> None:
        """Take a hub out (the operator is restarting it)."""
        self.held[index] = True

    def release(self, index: int) -> None:
        """Put a hub back."""
        self.held[index] = False
        self.down_until[index] = 0.0

    def failed(self, index: int) -> None:
        """Rest a hub whose connection failed."""
        self.down_until[index] = time.monotonic() + self.rest


@dataclass
class Traffic:
    """Mixed load over ``urls``: ``pulls`` pulls and ``applications`` applications at least."""

    urls: list[str]
    workload: Workload
    token: Callable[[], str]
    pulls: int
    applications: int
    concurrency: int = 16
    seed: int = 1
    max_seconds: float = 900.0
    read_share: float = 1.0
    replay_share: float = 0.1
    case_deadline: float = 60.0
    attempts: list[Attempt] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    timed_out: bool = False

    def __post_init__(self) -> None:
        self.balancer = Balancer(len(self.urls))
        self.run_id = f"lt{uuid.uuid4().hex[:8]}"
        self._ids = itertools.count(1)
        self._pulls_started = 0
        self._apps_started = 0
        self._until: Callable[[], bool] | None = None
        self._token = ""
        self._token_at = 0.0
        self._client: httpx.AsyncClient | None = None
        self.probed: dict[str, int] = {}  # material → the status its probe pull answered

    @property
    def seconds(self) -> float:
        """Return how long the load ran."""
        return max(1e-9, (self.ended or time.monotonic()) - self.started)

    async def probe(self) -> None:
        """Pull each kind once by the cast's key; keep only the kinds that answer 200."""
        self._token = await asyncio.to_thread(self.token)
        self._token_at = time.monotonic()
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            self._client = client
            for kind in self.workload.kinds:
                attempt, response = await self._request(self.workload.probe(kind))
                attempt.kind = "probe"
                if response is not None and response.status_code == 200:
                    note_pull(attempt, response)
                self.probed[kind.material] = attempt.status
        self._client = None
        self.workload.keep({m for m, status in self.probed.items() if status == 200})

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Run the clients until the targets are met (and ``until()`` says so), or time is up."""
        self._until = until
        if not self._token:
            self._token = await asyncio.to_thread(self.token)
            self._token_at = time.monotonic()
        limits = httpx.Limits(
            max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency * 2
        )
        self.started = time.monotonic()
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), limits=limits) as client:
            self._client = client
            await asyncio.gather(*(self._worker(w) for w in range(self.concurrency)))
        self.ended = time.monotonic()

    # ---- choosing what to do next --------------------------------------------------------

    def _next(self) -> str | None:
        if time.monotonic() - self.started > self.max_seconds:
            self.timed_out = True
            return None
        met = self._pulls_started >= self.pulls and self._apps_started >= self.applications
        if met and (self._until is None or self._until()):
            return None
        if self.applications <= 0:
            return "pull"
        if self.pulls <= 0:
            return "application"
        pulls_done = self._pulls_started / self.pulls
        apps_done = self._apps_started / self.applications
        return "application" if apps_done <= pulls_done else "pull"

    async def _worker(self, number: int) -> None:
        rng = random.Random(self.seed * 10_007 + number)
        while (what := self._next()) is not None:
            if what == "pull":
                self._pulls_started += 1
                await self._pull(rng)
            else:
                self._apps_started += 1
                await self._application(rng)

    # ---- sending ---------------------------------------------------------------------------

    async def _bearer(self) -> str:
        if time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS:
            self._token_at = time.monotonic()
            self._token = await asyncio.to_thread(self.token)
        return self._token

    async def _hub(self, avoid: int | None) -> int | None:
        deadline = time.monotonic() + 30.0
        while (hub := self.balancer.pick(avoid)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        return hub

    async def send(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        avoid: int | None = None,
    ) -> tuple[Attempt, httpx.Response | None]:
        """Send one request to a hub that is up; keep and return the attempt."""
        assert self._client is not None
        request_id = f"{self.run_id}-{next(self._ids)}"
        hub = await self._hub(avoid)
        if hub is None:
            attempt = Attempt(kind, 0, 0.0, request_id, -1, error="no hub up")
            self.attempts.append(attempt)
            return attempt, None
        head = {"Authorization": f"Bearer {await self._bearer()}", "X-Request-Id": request_id}
        head.update(headers or {})
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        if content is not None:
            head["Content-Type"] = "application/json"
        self.balancer.in_flight[hub] += 1
        t0 = time.perf_counter()
        try:
            response = await self._client.request(
                method, self.urls[hub] + path, content=content, params=params, headers=head
            )
        except httpx.TransportError as exc:
            ms = (time.perf_counter() - t0) * 1000
            self.balancer.failed(hub)
            attempt = Attempt(kind, 0, ms, request_id, hub, error=type(exc).__name__)
            self.attempts.append(attempt)
            return attempt, None
        finally:
            self.balancer.in_flight[hub] -= 1
        ms = (time.perf_counter() - t0) * 1000
        attempt = Attempt(kind, response.status_code, ms, request_id, hub)
        if response.status_code >= 400 and response.status_code != 409:
            attempt.detail = _detail(response)
        self.attempts.append(attempt)
        return attempt, response

    # ---- the two kinds of traffic --------------------------------------------------------

    async def _pull(self, rng: random.Random) -> None:
        ask = self.workload.pull(rng)
        attempt, response = await self._request(ask)
        if response is None and attempt.hub >= 0:  # the hub went away: once more elsewhere
            attempt, response = await self._request(ask, avoid=attempt.hub)
        if response is not None and response.status_code == 200:
            note_pull(attempt, response)

    async def _request(
        self, ask: Request, avoid: int | None = None
    ) -> tuple[Attempt, httpx.Response | None]:
        attempt, response = await self.send(
            ask.kind, ask.method, ask.path, body=ask.body, params=ask.params, avoid=avoid
        )
        attempt.keys = ask.keys
        return attempt, response

    async def _application(self, rng: random.Random) -> None:
        body = self.workload.application(rng)
        case = Case(key=f"{self.run_id}-case-{len(self.cases) + 1}")
        self.cases.append(case)
        started = time.monotonic()
        response = await self.submit(case, body)
        case.ms = (time.monotonic() - started) * 1000
        if response is None or response.status_code != 201 or case.number is None:
            return
        if rng.random() < self.read_share:
            await self._read(case.number)
        if rng.random() < self.replay_share:
            attempt, again = await self.send(
                "replay",
                "POST",
                "/v1/applications",
                body=body,
                headers={"Idempotency-Key": case.key},
            )
            # A 503 (the hub's database or access log down) is "not now", not another
            # answer: only a replay the hub answered is compared with the first answer.
            if again is not None and again.status_code != 503:
                attempt.number = case.number
                attempt.body_sha256 = hashlib.sha256(again.content).hexdigest()
                case.replay_same = again.status_code == 201 and (
                    attempt.body_sha256 == case.body_sha256
                )

    async def submit(self, case: Case, body: dict[str, Any]) -> httpx.Response | None:
        """Submit until accepted or refused, the same key every time; return the last answer."""
        deadline = time.monotonic() + self.case_deadline
        last: httpx.Response | None = None
        server_errors = 0
        avoid: int | None = None
        while time.monotonic() < deadline:
            attempt, response = await self.send(
                "submit",
                "POST",
                "/v1/applications",
                body=body,
                headers={"Idempotency-Key": case.key},
                avoid=avoid,
            )
            case.attempts += 1
            if response is None:
                case.cut += 1
                avoid = attempt.hub
                await asyncio.sleep(0.2)
                continue
            last, avoid = response, None
            case.status = response.status_code
            if response.status_code == 201:
                note_case(attempt, case, response)
                return response
            if response.status_code == 409:
                case.in_flight += 1
                await asyncio.sleep(_retry_after(response))
                continue
            if response.status_code >= 500 and server_errors < 5:
                server_errors += 1
                await asyncio.sleep(1.0)
                continue
            return response
        return last

    async def _read(self, number: str) -> None:
        attempt, response = await self.send("read", "GET", f"/v1/applications/{number}")
        if response is None and attempt.hub >= 0:
            attempt, response = await self.send(
                "read", "GET", f"/v1/applications/{number}", avoid=attempt.hub
            )
        attempt.number = number
        if response is not None and response.status_code == 200:
            attempt.body_sha256 = hashlib.sha256(response.content).hexdigest()


def note_pull(attempt: Attempt, response: httpx.Response) -> None:
    """Keep what a pull's answer says of its access-log entries."""
    first, _, last = response.headers.get("X-Audit-Seq", "").partition("-")
    if first.isdigit() and last.isdigit():
        attempt.seqs = (int(first), int(last))
    digest = response.headers.get("Records-Digest", "")
    if digest.startswith("sha-256=:") and digest.endswith(":"):
        attempt.digest = base64.b64decode(digest[9:-1]).hex()


def note_case(attempt: Attempt, case: Case, response: httpx.Response) -> None:
    """Keep an accepted application's number, body hash and its materials' log entries."""
    data = response.json()
    case.number = attempt.number = str(data["number"])
    case.body_sha256 = attempt.body_sha256 = hashlib.sha256(response.content).hexdigest()
    attempt.fetched = tuple(
        (int(m["audit_seq"]), str(m["evidence_sha256"]))
        for m in data.get("materials") or []
        if m.get("status") == "fetched" and m.get("audit_seq") is not None
    )


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or response.reason_phrase)[:100]


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(5.0, max(0.1, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
