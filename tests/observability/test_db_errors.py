"""Database and Redis errors in the log: type, code and reason, never host, port or user."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from pathlib import Path

import psycopg
import pymysql
import pytest
import redis
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from exchange.audit.errors import AuditUnavailable
from exchange.audit.log import AuditLog
from exchange.core.logs import LOG_FORMAT, RequestIdFilter
from exchange.core.settings import Settings
from exchange.observability.dberrors import describe_db_error
from exchange.observability.jsonlog import JsonFormatter, RedactingFormatter, redact
from tests.audit.support import record

PG_REFUSED = (
    'connection failed: connection to server at "db-primary.zj.internal" (10.1.2.3), port 5432 '
    "failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP "
    "connections?"
)
PG_NO_ROLE = (
    'connection failed: connection to server at "10.1.2.3", port 5432 failed: FATAL:  '
    'password authentication failed for user "datarun_hub"'
)
MYSQL_REFUSED = "Can't connect to MySQL server on '10.1.2.3' ([Errno 111] Connection refused)"
MYSQL_DENIED = "Access denied for user 'datarun_hub'@'10.9.8.7' (using password: YES)"
REDIS_REFUSED = "Error 111 connecting to 10.1.2.3:6379. Connection refused."
REDIS_ASYNC = (
    "Error 111 connecting to cache.zj.internal:6380. Connect call failed ('10.1.2.3', 6380)."
)
SECRETS = ("10.1.2.3", "10.9.8.7", "5432", "6379", "6380", "datarun_hub", "zj.internal")


def _wrapped(orig: Exception) -> sa_exc.OperationalError:
    """The error SQLAlchemy raises around a driver's connection error."""
    return sa_exc.OperationalError(None, None, orig)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _wrapped(psycopg.OperationalError(PG_REFUSED)),
            "OperationalError (psycopg.OperationalError): connection refused",
        ),
        (
            psycopg.errors.InvalidPassword(PG_NO_ROLE),
            "psycopg.errors.InvalidPassword (SQLSTATE 28P01): authentication failed",
        ),
        (
            _wrapped(pymysql.err.OperationalError(2003, MYSQL_REFUSED)),
            "OperationalError (pymysql.err.OperationalError, error 2003): connection refused",
        ),
        (
            pymysql.err.OperationalError(1045, MYSQL_DENIED),
            "pymysql.err.OperationalError (error 1045): authentication failed",
        ),
        (
            redis.exceptions.ConnectionError(REDIS_REFUSED),
            "redis.exceptions.ConnectionError (errno 111): connection refused",
        ),
        (
            redis.exceptions.ConnectionError(REDIS_ASYNC),
            "redis.exceptions.ConnectionError (errno 111): connection refused",
        ),
        (
            redis.exceptions.TimeoutError("Timeout connecting to server"),
            "redis.exceptions.TimeoutError: timed out",
        ),
    ],
)
def test_a_connection_error_is_told_by_type_code_and_reason(
    error: Exception, expected: str
) -> None:
    told = describe_db_error(error)
    assert told == expected
    for secret in SECRETS:
        assert secret not in told


def test_other_database_errors_keep_their_first_line_but_not_sql_or_parameters() -> None:
    orig = psycopg.errors.UniqueViolation(
        'duplicate key value violates unique constraint "uq_grants_code"\n'
        "DETAIL:  Key (code)=(330106197803154217) already exists."
    )
    error = sa_exc.IntegrityError(
        "INSERT INTO grants (code) VALUES (%(code)s)", {"code": "330106197803154217"}, orig
    )
    told = describe_db_error(error)
    assert told == (
        "IntegrityError (psycopg.errors.UniqueViolation, SQLSTATE 23505): duplicate key value "
        'violates unique constraint "uq_grants_code"'
    )
    # SQLite names no server: its own text is the useful part.
    gone = _wrapped(Exception("placeholder"))
    gone.orig = __import__("sqlite3").OperationalError("no such table: audit_entries")
    assert describe_db_error(gone).endswith(": no such table: audit_entries")
    # A server-side shutdown keeps its SQLSTATE.
    shutdown = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    assert describe_db_error(shutdown) == (
        "psycopg.errors.AdminShutdown (SQLSTATE 57P01): connection lost"
    )


def test_every_log_line_loses_what_a_driver_said_about_its_server() -> None:
    for message in (
        PG_REFUSED,
        PG_NO_ROLE,
        MYSQL_REFUSED,
        MYSQL_DENIED,
        REDIS_REFUSED,
        REDIS_ASYNC,
    ):
        cleaned = redact(f"something failed: {message}")
        for secret in SECRETS:
            assert secret not in cleaned, (message, cleaned)
    url = redact("engine postgresql+psycopg://datarun_hub:s3cret@10.1.2.3:5432/hub is slow")
    assert url == "engine <database-url> is slow"
    conninfo = redact("invalid dsn: host=10.1.2.3 port=5432 user=datarun_hub password=s3cret")
    assert "s3cret" not in conninfo and "10.1.2.3" not in conninfo
    # What only looks alike stays: a route, a version, a documentation link.
    same = "GET /v1/records/{code} 200; grant policy v3 rebuilt; see https://sqlalche.me/e/21/e3q8"
    assert redact(same) == same


def test_a_traceback_describes_a_connection_error_instead_of_quoting_it() -> None:
    try:
        try:
            raise psycopg.OperationalError(PG_REFUSED)
        except psycopg.OperationalError as driver:
            raise _wrapped(driver) from driver
    except sa_exc.OperationalError:
        logged = logging.LogRecord("datarun.t", logging.ERROR, __file__, 1, "failed", None, None)
        logged.exc_info = sys.exc_info()
    logged.request_id = "-"
    for formatter in (JsonFormatter(), RedactingFormatter(LOG_FORMAT)):
        line = formatter.format(logged)
        assert "Traceback" in line and "connection refused" in line
        assert "psycopg.OperationalError" in line
        for secret in SECRETS:
            assert secret not in line, (type(formatter).__name__, line)


def _broken_database(kind: str, request: pytest.FixtureRequest) -> tuple[str, list[str], str]:
    """Return (url, what must not be logged, the reason that must be) for a broken store."""
    if kind == "dead-server":
        url = "postgresql+psycopg://datarun_probe:s3cret-pw@localhost:1/nowhere"
        return (
            url,
            ["localhost", "127.0.0.1", "::1", "port 1", "datarun_probe", "s3cret"],
            ("connection refused"),
        )
    base = make_url(request.getfixturevalue("postgres_database"))
    role = f"datarun_no_role_{uuid.uuid4().hex[:8]}"
    url = base.set(username=role).render_as_string(hide_password=False)
    secrets = [role, str(base.host), f"port {base.port or 5432}", f"{base.port or 5432}"]
    return url, secrets, "role or database does not exist"


@pytest.mark.parametrize("kind", ["dead-server", "unknown-role"])
def test_a_broken_access_log_store_is_logged_without_its_host_port_or_user(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, secrets, reason = _broken_database(kind, request)
    settings = Settings(environment="test", data_dir=tmp_path, audit_append_timeout_seconds=5)
    grouped, direct = AuditLog(url, settings), AuditLog(url, settings, group_commit=False)
    try:
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(AuditUnavailable):
                grouped.append(record(1))  # through the appender thread
            with pytest.raises(AuditUnavailable):
                asyncio.run(grouped.aappend(record(2)))
            with pytest.raises(AuditUnavailable):
                direct.append(record(3))
            with pytest.raises(AuditUnavailable):
                direct.checkpoint(force=True)
    finally:
        grouped.close()
        direct.close()
    failures = [r for r in caplog.records if r.name == "datarun.audit"]
    messages = [r.getMessage() for r in failures]
    assert sum("access log append failed" in m for m in messages) >= 3, messages
    assert all(reason in m for m in messages), messages  # what an operator can act on
    handler = RequestIdFilter()
    lines = [caplog.text]
    for logged in caplog.records:
        handler.filter(logged)
        lines += [logged.getMessage(), JsonFormatter().format(logged)]
        lines.append(RedactingFormatter(LOG_FORMAT).format(logged))
    for line in lines:
        for secret in secrets:
            assert secret not in line, (secret, line)
