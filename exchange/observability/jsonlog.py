"""Log lines as JSON objects, and the redaction every hub log line passes through.

Personal data belongs in the access log only. The hub's own lines never carry bodies,
query strings, keys or tokens, but a library's message or an exception's text might (a
driver quoting a statement's parameters, say), so every formatted line is redacted: an
18-digit resident ID number, an 11-digit mobile number, a JWT and a bearer credential
are replaced by a placeholder before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

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
    """Replace ID numbers, mobile numbers, JWTs and bearer credentials in ``text``."""
    if not text:
        return text
    return _SENSITIVE.sub(lambda m: _PLACEHOLDERS[m.lastgroup or "id"], text)


class RedactingFormatter(logging.Formatter):
    """The text format, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then redact the whole line (traceback included)."""
        return redact(super().format(record))


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
