"""Fixtures borrowed from the fault and observability tests (a proxied hub, a bound hub)."""

from tests.faults.conftest import (  # noqa: F401  (fixtures)
    proxied_hub,
    proxies,
    sources,
    window_headers,
)
from tests.observability.conftest import hub  # noqa: F401  (fixture)
