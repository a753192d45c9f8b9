"""The OpenAPI document carries examples, and every example is valid.

What a reader of ``/docs`` (and the fuzzer's explicit phase) relies on:

- every operation with a JSON request body shows an example of that body;
- every schema a ``/v1`` operation answers with (2xx, JSON) has an example;
- every example validates against the schema it illustrates (JSON Schema 2020-12, ``$ref``s
  resolved through the whole document, formats checked), and a request body's example is
  also accepted by the pydantic model behind it (the validators the schema cannot express:
  GB 11643 and GB 32100 check digits, sharing rules, ...);
- every 18-digit resident ID in an example has a correct GB 11643 check digit (examples
  use the demo province's fictional people, never a real person's).

FastAPI drops every ``null`` from the document it serves, examples included
(fastapi/fastapi#5559, still open in 0.165): an example of a response with a required
nullable field (``"reason": null``) loses that key in /openapi.json. The examples are
therefore validated as written, in a document built with explicit nulls kept
(``authored``); the served document's loss is the strict XFAIL at the end, which passes
once the app keeps nulls in examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import fastapi.openapi.utils
import jsonschema_rs
import pytest
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from catalogs.identifiers import resident_id_problem
from exchange.app import create_app
from exchange.core.settings import Settings
from exchange.records.rules import records_sha256
from exchange.records.schemas import LookupResponse

METHODS = {"get", "post", "put", "patch", "delete"}
# 6-digit area code, a 19xx/20xx birth date, sequence, check digit (an all-digit USCC is not one)
RESIDENT_ID = re.compile(r"^[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])\d{5}[\dX]$")
# Bodies whose schema is written by hand in a router, not generated from a model (none
# now: the catalogue import's JSON example is the export's shape, in its router).
NOT_FROM_A_MODEL: set[str] = set()


def _openapi(tmp: Any) -> dict[str, Any]:
    settings = Settings(
        environment="test", database_url=f"sqlite:///{tmp / 'hub.db'}", data_dir=tmp / "var"
    )
    app = create_app(settings)
    document: dict[str, Any] = app.openapi()
    app.state.engine.dispose()
    return document


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hub's OpenAPI document, as /openapi.json serves it."""
    return _openapi(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def authored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same document with explicit nulls kept: the examples as the models write them."""

    def keep_nulls(obj: Any, **kwargs: Any) -> Any:
        return jsonable_encoder(obj, **{**kwargs, "exclude_none": False, "exclude_unset": True})

    with mock.patch.object(fastapi.openapi.utils, "jsonable_encoder", keep_nulls):
        return _openapi(tmp_path_factory.mktemp("openapi-authored"))


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def _examples_of(spec: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """The examples a schema shows: its own, its $ref's, or its non-null branches'."""
    schema = _resolve(spec, schema)
    found = list(schema.get("examples", []))
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if branch.get("type") != "null":
            found += _examples_of(spec, branch)
    return found


def _component(schema: dict[str, Any]) -> str | None:
    """The component a response schema names: itself, or its items for an array."""
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _schema_examples(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Yield (JSON pointer of a schema, one of its examples) for every schema under node."""
    if isinstance(node, dict):
        examples = node.get("examples")
        if isinstance(examples, list):
            for example in examples:
                yield pointer, example
        for key, value in node.items():
            if key not in {"examples", "example", "default", "const", "enum"}:
                yield from _schema_examples(value, f"{pointer}/{_escape(key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schema_examples(value, f"{pointer}/{i}")


def _document(spec: dict[str, Any]) -> dict[str, Any]:
    """One JSON Schema document holding every schema: components, and inline bodies."""
    inline: dict[str, Any] = {}
    for path, method, operation in _operations(spec):
        bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
        for body in bodies:
            for content in body.get("content", {}).values():
                schema = content.get("schema")
                if schema and "$ref" not in schema:
                    inline[f"b{len(inline)}"] = schema  # URI-safe names for the pointers
    return {"components": spec["components"], "inline": inline}


def _all_examples(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    document = _document(spec)
    yield from _schema_examples(document["components"], "#/components")
    yield from _schema_examples(document["inline"], "#/inline")


def test_every_json_request_body_has_an_example(spec: dict[str, Any]) -> None:
    bodies, missing = 0, []
    for path, method, operation in _operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        if media is None:
            continue
        bodies += 1
        if f"{method.upper()} {path}" in NOT_FROM_A_MODEL:
            continue
        shown = media.get("examples") or "example" in media
        if not shown and not _examples_of(spec, media.get("schema", {})):
            missing.append(f"{method.upper()} {path}")
    assert bodies >= 25  # the document still has its JSON bodies (lookup, applications, ...)
    assert not missing, f"request bodies without an example: {missing}"


def test_every_v1_response_schema_has_an_example(spec: dict[str, Any]) -> None:
    names: set[str] = set()
    for path, _method, operation in _operations(spec):
        if not path.startswith("/v1/"):
            continue
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            name = _component(schema or {})
            if name:
                names.add(name)
    assert {"LookupResponse", "CaseFile", "Page_GrantRead_", "VersionRead"} <= names
    missing = sorted(n for n in names if not spec["components"]["schemas"][n].get("examples"))
    assert not missing, f"response schemas without an example: {missing}"


def _invalid_examples(spec: dict[str, Any]) -> tuple[int, list[str]]:
    document = _document(spec)
    checked, failures = 0, []
    for pointer, example in _all_examples(spec):
        validator = jsonschema_rs.Draft202012Validator(
            {**document, "$ref": pointer}, validate_formats=True
        )
        checked += 1
        for error in validator.iter_errors(example):
            where = "/".join(str(p) for p in error.instance_path)
            failures.append(f"{pointer} at /{where}: {error.message}")
    return checked, failures


def test_every_example_validates_against_its_schema(authored: dict[str, Any]) -> None:
    checked, failures = _invalid_examples(authored)
    assert checked >= 120  # one or more per schema: the examples are really there
    assert not failures, "\n".join(failures)


def _models() -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo = list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        todo += model.__subclasses__()
        if model.__module__.startswith(("exchange.", "catalogs.")):
            yield model


def test_request_examples_are_accepted_by_their_models(spec: dict[str, Any]) -> None:
    titles: set[str] = set()
    for _path, _method, operation in _operations(spec):
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if schema is None:
            continue
        if f"{_method.upper()} {_path}" in NOT_FROM_A_MODEL:
            continue
        # an optional body is anyOf [model, null] under FastAPI's own title ("Body")
        for branch in schema["schema"].get("anyOf", [schema["schema"]]):
            title = _resolve(spec, branch).get("title")
            if title and branch.get("type") != "null":
                titles.add(title)
    models = {m.__name__: m for m in _models() if m.__name__ in titles}
    assert set(models) == titles  # every request body's model is found, by its title
    failures = []
    for name, model in sorted(models.items()):
        extra = model.model_config.get("json_schema_extra")
        examples = extra.get("examples") if isinstance(extra, dict) else None
        assert isinstance(examples, list) and examples, name
        for example in examples:
            try:
                model.model_validate(example)
            except ValueError as exc:
                failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


def test_resident_ids_in_examples_have_correct_check_digits(spec: dict[str, Any]) -> None:
    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    ids = {
        s for _, example in _all_examples(spec) for s in strings(example) if RESIDENT_ID.match(s)
    }
    assert ids  # the examples do show resident IDs (the seller's, the buyer's)
    bad = {i: resident_id_problem(i) for i in ids if resident_id_problem(i)}
    assert not bad, bad


def test_lookup_example_digest_is_the_digest_of_its_records() -> None:
    extra = LookupResponse.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    for example in extra["examples"]:  # type: ignore[union-attr]
        assert isinstance(example, dict)
        records = example["records"]
        assert isinstance(records, list)
        assert example["records_sha256"] == records_sha256(records)  # type: ignore[arg-type]


@pytest.mark.xfail(
    strict=True,
    reason="FastAPI drops nulls from the served document's examples (fastapi/fastapi#5559); "
    "exchange/app.py can keep them (encode the document with exclude_none=False, "
    "exclude_unset=True, as the `authored` fixture does)",
)
def test_served_examples_keep_their_nulls(spec: dict[str, Any]) -> None:
    _, failures = _invalid_examples(spec)
    assert not failures, "\n".join(failures)
