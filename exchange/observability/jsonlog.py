"""Log lines as JSON objects, and the redaction every hub log line passes through.

Personal data belongs in the access log only. The hub's own lines never carry bodies,
query strings, keys or tokens, but a library's message or an exception's text might (a
driver quoting a statement's parameters, say), so every formatted line is redacted: an
18-digit resident ID number, an 11-digit mobile number, a JWT and a bearer credential
are replaced by a placeholder before the line is written, and so are the hosts, ports,
users and URLs a database or Redis driver quotes in a connection error
(``exchange/observability/dberrors.py``). A traceback names such an error by its type
and reason, never by its text.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from exchange.observability.dberrors import format_exception, scrub_connection_details

_SENSITIVE = re.compile(
    r"(?P<jwt>eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"
    r"|(?P<bearer>(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,})"
    r"|(?P<id>(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z]))"
    r"|(?P<mobile>(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z]))"
)
_PLACEHOLDERS = {
    "jwt": "<token>",
    "bearer": "Bearer <token>",
    "id": "<id-number>",
    "mobile": "<mobile>",
}
# Attributes every LogRecord has; anything else was passed as ``extra=`` and is emitted.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


def redact(text: str) -> str:
    """Replace ID numbers, mobile numbers, JWTs, bearer credentials and connection details."""
    if not text:
        return text
    text = _SENSITIVE.sub(lambda m: _PLACEHOLDERS[m.lastgroup or "id"], text)
    return scrub_connection_details(text)


_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RedactingFormatter(logging.Formatter):
    """The text format, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then redact the whole line (traceback included)."""
        return redact(super().format(record))

    def formatException(self, ei: _ExcInfo | tuple[None, None, None]) -> str:
        """Format a traceback with connection errors described, not quoted."""
        return _traceback(self, ei)


def _traceback(formatter: logging.Formatter, ei: _ExcInfo | tuple[None, None, None]) -> str:
    if ei[1] is None:
        return logging.Formatter.formatException(formatter, ei)
    return format_exception(ei[1]).rstrip("\n")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, request_id, message, extras, error."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a redacted JSON line."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                doc[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            doc["error"] = record.exc_info[0].__name__
            doc["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False, default=str)

    def formatException(self, ei: _ExcInfo | tuple[None, None, None]) -> str:
        """Format a traceback with connection errors described, not quoted."""
        return _traceback(self, ei)
