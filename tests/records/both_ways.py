"""Requests of every kind, sent to the lookup route, and what came back and was logged.

Shared by the tests that serve a lookup two ways and compare (test_direct: direct path vs
FastAPI's solver; test_shortcut: the middleware shortcut vs routing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.records.support import ID_CARD, ID_ITEMS, SELLER, WINDOW, entries, headers, last_seq


def unrelated() -> None:
    """A dependency no route uses: overriding it only sends requests through FastAPI."""


def lookup_body(**extra: Any) -> dict[str, Any]:
    return {"keys": [SELLER], "items": ID_ITEMS, "purpose": "330000-ZR-001", **extra}


CASES: dict[str, Callable[[FastAPI], tuple[dict[str, str], Any]]] = {
    "granted": lambda app: (headers(app, WINDOW), lookup_body()),
    "item beyond the grant": lambda app: (headers(app, WINDOW), lookup_body(items=["photo"])),
    "items=*": lambda app: (headers(app, WINDOW), lookup_body(items="*")),
    "bad check digit": lambda app: (headers(app, WINDOW), lookup_body(keys=["330106199001010011"])),
    "NUL in purpose": lambda app: (headers(app, WINDOW), lookup_body(purpose="330000\u0000")),
    "not JSON": lambda app: (headers(app, WINDOW), b"{not json"),
    "no token": lambda app: ({}, lookup_body()),
    "a person, not a system": lambda app: (headers(app, "zrzyt-admin"), lookup_body()),
}


def send(hub: TestClient, app: FastAPI, case: str) -> tuple[int, Any, list[tuple[Any, ...]]]:
    who, body = CASES[case](app)
    before = last_seq(app)
    url = f"/v1/records/{ID_CARD}/lookup"
    if isinstance(body, bytes):
        response = hub.post(url, content=body, headers={**who, "Content-Type": "application/json"})
    else:
        response = hub.post(url, json=body, headers=who)
    answer = response.json()
    for volatile in ("request_id", "instance"):
        answer.pop(volatile, None)
    for record in answer.get("records", []):
        record["provenance"].pop("retrieved_at")
    answer.pop("records_sha256", None)  # over retrieved_at
    logged = [
        (e.decision, e.outcome, e.subject_key, e.items_requested, e.items_returned, e.reason)
        for e in entries(app, before)
    ]
    return response.status_code, answer, logged
