"""The tracker's tests run against a hub that trusts the stand-in identity provider."""

from __future__ import annotations

import pytest

from exchange.core.settings import Settings
from tests.tracker.idp import AUDIENCE, ISSUER, Provider, idp, provider_keys

__all__ = ["idp", "provider_keys"]


@pytest.fixture
def settings(settings: Settings, idp: Provider) -> Settings:
    """The test hub's settings, trusting the provider's issuer and loopback JWKS."""
    return settings.model_copy(
        update={
            "citizen_idp_issuer": ISSUER,
            "citizen_idp_audience": AUDIENCE,
            "citizen_idp_jwks_url": idp.url,
        }
    )
