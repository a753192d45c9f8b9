"""Database and Redis errors, told without where the server is or who connects to it.

A driver's connection error quotes the server's host and port, often the user or the
database too (``connection to server at "10.1.2.3", port 5432 failed: …``, ``Can't
connect to MySQL server on '10.1.2.3'``, ``Error 111 connecting to cache:6379``).
``describe_db_error`` says instead what an operator can act on: the exception's type, the
driver's type and code (SQLSTATE, MySQL error number, errno) and, for a connection error,
a reason from a fixed vocabulary (refused, timed out, authentication failed, …), never
its text. Every log line also passes through ``scrub_connection_details`` (with the other
redactions of ``jsonlog``), and ``format_exception`` writes a traceback whose connection
errors are described the same way.
"""

from __future__ import annotations

import os
import re
import traceback

# A class of any of these names (in any driver) may quote where and how it connects.
_CONNECTION_CLASSES = frozenset(
    {
        "OperationalError",  # SQLAlchemy, psycopg, psycopg2, pymysql, sqlite3
        "InterfaceError",
        "DisconnectionError",
        "ConnectionError",  # redis (and its AuthenticationError), builtins
        "TimeoutError",  # redis, builtins
        "gaierror",  # socket: a host name that does not resolve
        "herror",
    }
)
# SQLite's messages name no server: its OperationalError ("no such table: …") keeps its text.
_LOCAL_DRIVERS = frozenset({"sqlite3"})
# (reason, fragments of the lower-cased message that mean it), the first match wins.
_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("connection refused", ("refused",)),
    (
        "host name not resolved",
        (
            "resolve host",
            "translate host name",
            "name or service not known",
            "nodename nor servname",
            "name resolution",
            "getaddrinfo",
        ),
    ),
    ("timed out", ("timeout", "timed out")),
    ("authentication failed", ("authentication", "access denied", "noauth", "invalid password")),
    ("role or database does not exist", ("does not exist", "unknown database")),
    ("too many connections", ("too many connections", "connection slots", "max number of clients")),
    ("TLS failed", ("ssl", "tls", "certificate")),
    ("database is locked", ("database is locked",)),
    ("cannot open the database file", ("unable to open database file",)),
    (
        "connection lost",
        (
            "server closed the connection",
            "lost connection",
            "reset by peer",
            "connection closed",
            "connection is closed",
            "connection is lost",
            "broken pipe",
            "terminating connection",
            "gone away",
        ),
    ),
    ("server starting up or shutting down", ("starting up", "shutting down")),
)
_QUOTED = r"(?:\"[^\"]*\"|'[^']*')"
# What a driver's message may say about the server and the credentials, and what to say
# instead; applied in order to every log line.
_CONNECTION_DETAILS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # postgresql+psycopg://user:pw@db:5432/hub, redis://:pw@cache:6379/0, …
        (
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|rediss?|mssql|oracle|cockroachdb)"
            r"(?:\+\w+)?://[^\s'\"<>]+",
            "<database-url>",
        ),
        (r"(?<=://)[^\s/@'\"<>]+@", "<credentials>@"),  # any other URL's user:password@
        # libpq: connection to server at "db" (10.1.2.3), port 5432 failed / on socket "…"
        (rf"(server at ){_QUOTED}(?: \([^)]*\))?", r"\1<host>"),
        (r"(server at <host>, port )\d+", r"\1<port>"),
        (rf"(server on socket ){_QUOTED}", r"\1<socket>"),
        (rf"((?:resolve|translate) host(?: name)? ){_QUOTED}", r"\1<host>"),
        (rf"(for host ){_QUOTED}", r"\1<host>"),
        # role "x" / user "x" / database "x"; MySQL's 'root'@'10.0.0.5', Unknown database 'x'
        (rf"(?i)(\b(?:user|role|database) ){_QUOTED}(?:@{_QUOTED})?", r"\1<name>"),
        (rf"(MySQL server on ){_QUOTED}", r"\1<host>"),
        # redis: Error 111 connecting to cache:6379. / Error while reading from 10.1.2.3:6379
        (r"((?:connecting to|reading from|writing to) )[^\s,;()]+:\d+", r"\1<host>"),
        (r"(unix socket: )[^\s,;]+", r"\1<socket>"),
        # asyncio: Connect call failed ('10.1.2.3', 6379)
        (r"(Connect call failed )\([^)]*\)", r"\1(<address>)"),
        # libpq conninfo: host=db port=5432 user=datarun password=…
        (r"\b(host|hostaddr|port|user|dbname|password)=(?:'[^']*'|[^\s'\"]+)", r"\1=<redacted>"),
    )
)
# Every pattern above needs one of these; most lines have none and are left at once.
_TRIGGER = re.compile(
    r"://|server (?:at|on socket) |host|(?i:user|role|database) [\"']|MySQL server on "
    r"|connecting to |reading from |writing to |unix socket: |Connect call failed "
    r"|(?:port|user|dbname|password)="
)
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_MAX_DETAIL = 200


def scrub_connection_details(text: str) -> str:
    """Replace hosts, ports, users, databases and connection URLs a driver quoted in ``text``."""
    if not _TRIGGER.search(text):
        return text
    for pattern, replacement in _CONNECTION_DETAILS:
        text = pattern.sub(replacement, text)
    return text


def is_connection_error(exc: BaseException) -> bool:
    """Say whether ``exc`` (or the driver error it wraps) may quote connection details."""
    orig = getattr(exc, "orig", None)
    if type(orig if orig is not None else exc).__module__ in _LOCAL_DRIVERS:
        return False
    for err in (exc, orig):
        if err is not None and any(c.__name__ in _CONNECTION_CLASSES for c in type(err).__mro__):
            return True
    return False


def describe_db_error(exc: BaseException) -> str:
    """Say what went wrong with a database or Redis call, without where or as whom.

    The exception's type, the driver's type and code, then for a connection error a
    reason from a fixed vocabulary (never the message), else the message's first line
    without connection details, SQL or parameters.
    """
    said, detail = _parts(exc)
    text = f"{_name(type(exc))} ({', '.join(said)})" if said else _name(type(exc))
    return f"{text}: {detail}" if detail else text


def format_exception(exc: BaseException) -> str:
    """Format ``exc``'s traceback, causes included, with connection errors described."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        if isinstance(current, BaseExceptionGroup):  # rare: the standard text, scrubbed
            return scrub_connection_details("".join(traceback.format_exception(exc)))
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for err, linked in reversed(chain):
        if err.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(err.__traceback__))
        if is_connection_error(err):
            said, detail = _parts(err)
            told = " ".join(x for x in (f"({', '.join(said)})" if said else "", detail) if x)
            parts.append(f"{_qualified(type(err))}: {told or '-'} (connection details withheld)\n")
        else:
            parts.extend(traceback.format_exception_only(type(err), err))
        parts.append(linked)
    return scrub_connection_details("".join(parts))


def _parts(exc: BaseException) -> tuple[list[str], str | None]:
    """Return (driver type and code, reason or first line) of ``exc``."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    driver = orig if isinstance(orig, BaseException) else None
    said: list[str] = []
    if driver is not None:
        said.append(_name(type(driver)))
    code = _code(driver if driver is not None else exc)
    if code:
        said.append(code)
    message = str(driver if driver is not None else exc)
    if is_connection_error(exc):
        number = _errno(driver if driver is not None else exc)
        fallback = os.strerror(number).lower() if number and number > 0 else None
        return said, _reason(message) or fallback
    first = scrub_connection_details(message.strip().split("\n", 1)[0].strip())
    if len(first) > _MAX_DETAIL:
        first = first[: _MAX_DETAIL - 1] + "…"
    return said, first or None


def _reason(message: str) -> str | None:
    lowered = message.lower()
    for reason, fragments in _REASONS:
        if any(f in lowered for f in fragments):
            return reason
    return None


def _code(err: BaseException) -> str | None:
    sqlstate = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return f"SQLSTATE {sqlstate}"
    name = getattr(err, "sqlite_errorname", None)
    if isinstance(name, str) and name:
        return name
    number = _errno(err)
    if number is not None:
        return f"errno {number}"
    if err.args and isinstance(err.args[0], int):  # pymysql: (2003, "Can't connect …")
        return f"error {err.args[0]}"
    return None


def _errno(err: BaseException) -> int | None:
    number = getattr(err, "errno", None)
    if isinstance(number, int):
        return number
    found = re.match(r"Error (-?\d+) (?:connecting|while)", str(err))  # redis
    return int(found.group(1)) if found else None


def _name(cls: type) -> str:
    module = cls.__module__
    if module == "builtins" or module.startswith("sqlalchemy") or module.startswith("exchange"):
        return cls.__name__
    return f"{module}.{cls.__name__}"


def _qualified(cls: type) -> str:
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
