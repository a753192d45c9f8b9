from fastapi.testclient import TestClient


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["schema"] == "0006"


def test_unknown_route_is_problem_json_with_request_id(client: TestClient) -> None:
    response = client.get("/nope", headers={"X-Request-Id": "abc-123"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


def test_oversized_body_is_413(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    response = client.post("/oauth/token", content=b"x" * (limit + 1))
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_jwks_publishes_the_signing_key(client: TestClient, auth) -> None:
    auth("alice", department="zj-gat", roles=["catalog_admin"])
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "OKP" and keys[0]["alg"] == "EdDSA" and "d" not in keys[0]
