"""The token endpoint's rate limit: by the client a request names, else by its address."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.identity import clients
from tests.fixtures.servers import server_url
from tests.identity.conftest import RegisteredSystem, post_token, register_system
from tests.limits.conftest import Hub
from tests.observability.support import scrape, value

METRIC = "datarun_token_rate_limited_total"


def _registered(app: FastAPI, client_id: str) -> RegisteredSystem:
    with app.state.sessionmaker() as session:
        return register_system(app, session, client_id, department="zj-gat")


def _ask(client: TestClient, system: RegisteredSystem) -> httpx.Response:
    """A valid token request of ``system`` (a fresh, correctly signed assertion)."""
    return client.post(
        "/oauth/token", data=clients.token_request_form(system.client_id, system.assertion())
    )


def _forged(client: TestClient, client_id: str) -> httpx.Response:
    """A token request naming ``client_id`` with an assertion no key of it signed."""
    intruder = RegisteredSystem(client_id, *clients.generate_key_pair())
    return post_token(client, intruder.assertion(), client_id=client_id)


def _refused_for(response: httpx.Response, who: str) -> dict[str, object]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    problem: dict[str, object] = response.json()
    assert str(problem["type"]).endswith("/rate-limited") and problem["status"] == 429
    assert problem["instance"] == "/oauth/token"
    assert who in str(problem["detail"]) and "token-request rate limit" in str(problem["detail"])
    return problem


def _refusals(app: FastAPI, client: str) -> float:
    # /metrics is for loopback callers; no `with`: the running hub's lifespan stays its own.
    local = TestClient(app, client=("127.0.0.1", 50123))
    return value(scrape(local), METRIC, client=client)


def test_a_client_over_its_token_budget_gets_429_and_others_do_not(hubs: Hub) -> None:
    client, app = hubs(token_rate_limit_per_second=0.05, token_rate_limit_burst=3)
    busy, calm = _registered(app, "zj-busy"), _registered(app, "zj-calm")
    before = _refusals(app, "zj-busy"), _refusals(app, "zj-calm")
    # Good and bad assertions alike spend the budget of the client they name.
    assert [r.status_code for r in (_ask(client, busy), _forged(client, "zj-busy"))] == [200, 401]
    assert _ask(client, busy).status_code == 200
    _refused_for(_ask(client, busy), "zj-busy")
    # Refused before the assertion is looked at: a forged one is a 429 too, not a 401.
    _refused_for(_forged(client, "zj-busy"), "zj-busy")
    # The client named only by its assertion's iss (no client_id field) is the same client.
    _refused_for(post_token(client, busy.assertion()), "zj-busy")
    assert _ask(client, calm).status_code == 200  # another client's budget is its own
    assert (_refusals(app, "zj-busy"), _refusals(app, "zj-calm")) == (before[0] + 3, before[1])


def test_requests_naming_no_registered_client_share_their_address_budget(hubs: Hub) -> None:
    client, app = hubs(
        peer=("203.0.113.9", 5000), token_rate_limit_per_second=0.05, token_rate_limit_burst=2
    )
    known = _registered(app, "zj-known")
    before = _refusals(app, "<address>")
    # Each invents a client id: were it keyed by the name, each would get a fresh bucket.
    made_up = [_forged(client, f"zj-made-up-{uuid.uuid4().hex[:8]}") for _ in range(2)]
    assert [r.status_code for r in made_up] == [401, 401]
    _refused_for(_forged(client, f"zj-made-up-{uuid.uuid4().hex[:8]}"), "203.0.113.9")
    no_name = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    _refused_for(no_name, "203.0.113.9")
    refused = client.post("/oauth/token", content=b"{}", headers={"content-type": "text/plain"})
    _refused_for(refused, "203.0.113.9")  # a body that does not even parse counts as well
    assert _ask(client, known).status_code == 200  # a registered client keeps its own budget
    assert _refusals(app, "<address>") == before + 3


def test_a_limit_of_zero_turns_it_off(hubs: Hub) -> None:
    client, app = hubs(token_rate_limit_per_second=0, token_rate_limit_burst=1)
    system = _registered(app, "zj-unlimited")
    codes = {_forged(client, "zj-unlimited").status_code for _ in range(25)}
    codes |= {_forged(client, "zj-nobody").status_code for _ in range(25)}
    assert codes == {401}
    assert _ask(client, system).status_code == 200


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_refused_client_gets_its_token_after_retry_after(hubs: Hub, backend: str) -> None:
    shared: dict[str, object] = {"token_rate_limit_per_second": 0.5, "token_rate_limit_burst": 2}
    if backend == "redis":
        shared |= {"redis_url": server_url("DATARUN_TEST_REDIS_URL"), "rate_limit_backend": "redis"}
    one, app_one = hubs(**shared)
    two, _ = hubs(**shared)  # another hub process: with Redis, the same budget
    system = _registered(app_one, f"zj-refill-{uuid.uuid4().hex[:8]}")  # a fresh bucket
    assert _ask(one, system).status_code == 200
    assert _ask(one, system).status_code == 200
    if backend == "redis":
        refused = _ask(two, system)
    else:
        assert _ask(two, system).status_code == 200  # its own buckets: its own budget
        refused = _ask(one, system)
    _refused_for(refused, system.client_id)
    time.sleep(float(refused.headers["retry-after"]))  # 2 s at 0.5 a second: a token back
    assert _ask(one, system).status_code == 200
