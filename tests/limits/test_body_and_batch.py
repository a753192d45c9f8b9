"""The request limits that already existed, checked where a caller meets them."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.records.support import ID_CARD, SELLER, TRANSFER, headers


def test_a_body_over_the_limit_is_413_declared_or_streamed(
    client: TestClient, app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes
    auth = headers(app, "zj-zrzyt-window")
    url = f"/v1/records/{ID_CARD}/lookup"
    declared = client.post(url, content=b"{" + b" " * limit + b"}", headers=auth)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = client.post(url, content=chunks(), headers=auth)
    assert streamed.status_code == 413
    assert streamed.json()["detail"] == f"request body exceeds {limit} bytes"


def test_a_batch_over_the_limit_is_422_naming_the_keys(hub: TestClient, app: FastAPI) -> None:
    most = app.state.settings.records_max_batch
    body = {"keys": [SELLER] * (most + 1), "items": ["name"], "purpose": TRANSFER}
    response = hub.post(
        f"/v1/records/{ID_CARD}/lookup", json=body, headers=headers(app, "zj-zrzyt-window")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "keys"
    assert f"at most {most} keys" in response.json()["detail"]
