"""What a request may carry to the database: bounded integer ids and text without NUL.

Two kinds of input would otherwise reach a database that cannot hold them and answer 500:

- **Integer ids and sequence numbers.** PostgreSQL refuses an ``integer`` past 2**31-1 and a
  ``bigint`` past 2**63-1 ("integer out of range"); SQLite refuses any Python int past
  2**63-1. ``Id`` and ``Seq`` bound such parameters by their column (see ``Id``).
- **U+0000 (NUL) in text.** PostgreSQL text cannot contain it ("cannot contain NUL (0x00)
  bytes"). ``refuse_nul`` is a dependency of every route (installed on the app): a path or
  query parameter, a JSON body string (or object key) or an urlencoded form field holding
  NUL is refused, 422, naming each such field, before any endpoint or service runs, on
  every backend alike.

A route that must answer a refusal its own way is marked in its ``openapi_extra`` and
takes the refusal from ``pending_refusal`` instead: data routes (``x-datarun-audited``,
record pulls and applications) raise it once their audit trail exists, so it is logged as a
``denied`` entry first (exchange/records/audited.py; logged values have NUL replaced by
U+FFFD, exchange/audit/records.py); the OAuth token endpoint (``x-datarun-oauth``) answers
it as an RFC 6749 ``invalid_request``. Multipart bodies (file uploads) are not read here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Path, Request
from fastapi.routing import APIRoute

from exchange.core.errors import InvalidInput, field_path

INT32_MAX = 2**31 - 1  # the largest value of an ``Integer`` column (PostgreSQL ``integer``)
INT64_MAX = 2**63 - 1  # the largest value of a ``BigInteger`` column, and of SQLite's INTEGER

Id = Annotated[int, Path(ge=1, le=INT32_MAX)]
"""The id of a row with an ``Integer`` primary key (grants, objections, application parts).

The rule for every integer parameter that names a row, path or query: it is bounded by its
column, 1 to 2**31-1 here (``Seq``: 1 to 2**63-1 for a ``BigInteger``), and a value outside
is refused by validation with **422 naming the parameter** (``errors[].field``), never
looked up: the bounds are in the OpenAPI document, so such a value is malformed input, not a
missing row. A well-formed id of no row is 404, as before. A query integer (a cursor such as
``after``) or a body field naming a row (``seq``, ``audit_seq``) takes ``le=INT64_MAX`` or
``le=INT32_MAX`` by its column the same way.
"""

Seq = Annotated[int, Path(ge=1, le=INT64_MAX)]
"""An access-log sequence number (a ``BigInteger``): 1 to 2**63-1, else 422 (see ``Id``)."""

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
# The ``openapi_extra`` marks of routes that answer a refusal themselves (see the docstring).
DEFERRING = ("x-datarun-audited", "x-datarun-oauth")
_FORM = "application/x-www-form-urlencoded"


def nul_locations(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Yield the location (a pydantic-style ``loc``) of each string or key holding NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                yield (*loc, key)
            yield from nul_locations(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_locations(item, (*loc, index))


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # parsed as JSON when the route takes a body
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _body_fields(request: Request) -> list[str]:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return []
    content_type = request.headers.get("content-type")
    if content_type and content_type.split(";", 1)[0].strip().lower() == _FORM:
        try:
            body = await request.body()  # kept: the route reads its form from these bytes
        except RuntimeError:  # the form was parsed already (a route taking Form fields)
            form = await request.form()
            return [
                k for k, v in form.multi_items() if NUL in k or (isinstance(v, str) and NUL in v)
            ]
        if b"%00" not in body and b"\x00" not in body:
            return []
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return [name for name, value in pairs if NUL in name or NUL in value]
    if not _is_json(content_type):
        return []  # multipart (files), CSV, bytes: the route parses them
    body = await request.body()  # FastAPI has read it already where the route takes a body
    # JSON writes NUL as the escape \u0000 (a raw NUL byte is invalid JSON, refused anyway);
    # the raw byte check also catches UTF-16/32 bodies.
    if b"\\u0000" not in body and b"\x00" not in body:
        return []
    try:
        data = await request.json()
    except ValueError:
        return []  # not JSON: the route refuses it as such
    return list(dict.fromkeys(field_path(loc) for loc in nul_locations(data)))


async def refuse_nul(request: Request) -> None:
    """Refuse a request (422) whose parameters, JSON body or form hold U+0000, naming them."""
    fields = [
        name
        for name, value in request.path_params.items()
        if isinstance(value, str) and NUL in value
    ]
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:  # the only ways a NUL reaches a parameter
        fields += [
            name
            for name, value in request.query_params.multi_items()
            if NUL in name or NUL in value
        ]
    fields += await _body_fields(request)
    if not fields:
        return
    names = list(dict.fromkeys(name.replace(NUL, "\\u0000") for name in fields))
    refusal = InvalidInput(
        f"invalid value for: {', '.join(names)}",
        errors=[{"field": name, "message": NUL_MESSAGE} for name in names],
    )
    route = request.scope.get("route")
    extra = (route.openapi_extra or {}) if isinstance(route, APIRoute) else {}
    if any(extra.get(mark) for mark in DEFERRING):
        request.state.pending_refusal = refusal
        return
    raise refusal


def pending_refusal(request: Request) -> InvalidInput | None:
    """Return the refusal ``refuse_nul`` left for a route that answers it itself, if any."""
    refusal = getattr(request.state, "pending_refusal", None)
    return refusal if isinstance(refusal, InvalidInput) else None
