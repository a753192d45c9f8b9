"""Schemathesis against the hub's OpenAPI document: no 5xx, every response matches its schema.

Every operation in the document is fuzzed (nothing is excluded), with valid and invalid
inputs, as the identity allowed to call it. Bounded and reproducible: at most
``MAX_EXAMPLES`` cases per operation, derandomized (Hypothesis derives its seed from the
test), no example database.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import Callers

MAX_EXAMPLES = 20

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_response_matches_its_schema(
    case: schemathesis.Case, callers: Callers
) -> None:
    case.call_and_validate(
        headers=callers.for_path(case.path),
        checks=[not_a_server_error, response_schema_conformance],
    )
