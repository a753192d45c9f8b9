"""Logs: one line per request with its id, JSON on request, never a key, a name or a token."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from exchange.app import create_app
from exchange.core.logs import RequestIdFilter
from exchange.core.settings import Settings
from exchange.observability.jsonlog import JsonFormatter, RedactingFormatter, redact
from tests.records.support import ID_CARD, SELLER, grant_esf_transfer, headers


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every hub log line, formatted as JSON, in a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def test_each_request_is_one_json_line_with_its_id_and_no_personal_data(
    hub: TestClient, app: FastAPI, captured: io.StringIO
) -> None:
    grant_esf_transfer(hub, app)
    auth = headers(app, "zj-zrzyt-window")
    token = auth["Authorization"].split()[1]
    url = f"/v1/records/{ID_CARD}?key={SELLER}&items=name,address&purpose=330000-ZR-001"
    response = hub.get(url, headers={**auth, "X-Request-Id": "trace-42"})
    assert response.status_code == 200
    body = hub.post(
        f"/v1/records/{ID_CARD}/lookup",
        json={"keys": [SELLER], "items": ["name"], "purpose": "330000-ZR-001"},
        headers=auth,
    )
    assert body.status_code == 200
    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    mine = [line for line in lines if line.get("request_id") == "trace-42"]
    request_line = next(line for line in mine if line["logger"] == "datarun.request")
    assert request_line["route"] == "/v1/records/{code}"
    assert request_line["status"] == 200 and request_line["method"] == "GET"
    assert request_line["duration_ms"] > 0 and request_line["level"] == "INFO"
    # Neither the key, nor the person's name or address, nor the token appears anywhere.
    record = response.json()["records"][0]["values"]
    for secret in (SELLER, token, record["name"], record["address"]):
        assert secret not in text


def test_redaction_catches_what_a_library_might_print() -> None:
    leaked = (
        "(psycopg.errors.UniqueViolation) duplicate key [parameters: ('330106197803154217', "
        "'13812345678')] Authorization: Bearer abcdefghijklmnop token=eyJhbGciOiJFZERTQSJ9."
        "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    )
    cleaned = redact(leaked)
    assert "330106197803154217" not in cleaned and "<id-number>" in cleaned
    assert "13812345678" not in cleaned and "<mobile>" in cleaned
    assert "abcdefghijklmnop" not in cleaned and "eyJzdWIi" not in cleaned
    # Things that only look alike stay: a 资源代码, a sequence number, a timestamp.
    assert redact("301001002/000002 seq 1234567 at 1764200000123") == (
        "301001002/000002 seq 1234567 at 1764200000123"
    )
    try:
        raise ValueError("bad key 33010619780315421X")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    record.request_id = "-"
    for formatter in (JsonFormatter(), RedactingFormatter("%(message)s")):
        assert "33010619780315421X" not in formatter.format(record)


def test_log_format_json_is_a_setting(settings: Settings) -> None:
    create_app(settings.model_copy(update={"log_format": "json"})).state.engine.dispose()
    root = logging.getLogger()
    ours = [h for h in root.handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)]
    try:
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    finally:
        create_app(settings).state.engine.dispose()  # back to text for the tests that follow
    assert isinstance(ours[0].formatter, RedactingFormatter)
