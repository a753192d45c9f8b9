"""Citizen tokens: only the trusted provider's, signed with its keys, for a valid resident ID."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError

from exchange.app import create_app
from exchange.core.settings import Settings
from exchange.tracker.keys import ProviderKeys, parse_jwks
from tests.tracker.idp import ALICE, AUDIENCE, BAD_CHECK, ISSUER, Provider

ACCESSES = "/v1/tracker/accesses"


def _get(client: TestClient, token: str) -> tuple[int, str]:
    response = client.get(ACCESSES, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json().get("detail", "")


def test_a_valid_token_of_the_provider_opens_the_tracker(client: TestClient, idp: Provider) -> None:
    for alg in ("RS256", "ES256"):
        response = client.get(ACCESSES, headers=idp.bearer(ALICE, alg=alg))
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "total": 0, "page": 1, "size": 20}


def test_alg_none_and_hs256_with_the_public_key_are_refused(
    client: TestClient, idp: Provider
) -> None:
    claims = idp.claims(ALICE)
    unsigned = idp.forged({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims, None)
    assert _get(client, unsigned) == (401, "token algorithm not allowed")
    # The classic confusion attack: HMAC keyed with the provider's public RSA key.
    confused = idp.forged({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims, idp.public_pem())
    assert _get(client, confused) == (401, "token algorithm not allowed")
    # And the RSA key's kid with ES256 (an algorithm the key does not have) is unknown.
    assert _get(client, idp.token(ALICE, alg="ES256", kid="rsa-1")) == (
        401,
        "token signed by an unknown key",
    )


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"iss": "https://evil.example"}, "token issuer mismatch"),
        ({"aud": "datarun-hub"}, "token audience mismatch"),
        # Times relative to when the test runs (a long suite runs it long after collection).
        ({"exp": -120, "iat": -900}, "token expired"),
        ({"nbf": 600}, "token not yet valid"),
        ({"sub": None}, "token lacks required claim sub"),
        ({"id_number": None}, "token lacks required claim id_number"),
        ({"id_number": 330106198503120021}, "token claim id_number is not a resident ID"),
    ],
    ids=["issuer", "audience", "expired", "not-yet", "no-sub", "no-id", "id-not-text"],
)
def test_wrong_claims_are_401(
    client: TestClient, idp: Provider, claims: dict[str, object], detail: str
) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "iat", "nbf") else v for k, v in claims.items()}  # type: ignore[operator]
    response = client.get(ACCESSES, headers=idp.bearer(ALICE, **claims))
    assert response.status_code == 401
    assert response.json()["detail"] == detail
    assert response.headers["www-authenticate"].startswith('Bearer realm="datarun"')


def test_an_id_failing_its_check_digit_is_401(client: TestClient, idp: Provider) -> None:
    status, detail = _get(client, idp.token(BAD_CHECK))
    assert status == 401
    assert detail == (
        "token claim id_number is not a valid resident ID: check digit does not match (GB 11643)"
    )
    assert _get(client, idp.token("33010619851312002X"))[0] == 401  # month 13


def test_a_key_the_provider_does_not_publish_is_401(client: TestClient, idp: Provider) -> None:
    other_rsa = rsa.generate_private_key(65537, 2048)
    stranger = dataclasses.replace(
        idp, rsa_key=other_rsa, ec_key=ec.generate_private_key(ec.SECP256R1())
    )
    assert _get(client, stranger.token(ALICE)) == (401, "token signature or format invalid")
    unknown = stranger.token(ALICE, kid="rsa-9")
    assert _get(client, unknown) == (401, "token signed by an unknown key")


def test_hub_tokens_and_no_token_are_refused(
    client: TestClient, idp: Provider, auth: Callable[..., dict[str, str]]
) -> None:
    response = client.get(ACCESSES)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    hub = auth("gat-admin", department="zj-gat", roles=["province_admin"])
    assert client.get(ACCESSES, headers=hub).status_code == 401
    # Nor does a citizen's token open any hub route.
    assert client.get("/v1/objections", headers=idp.bearer(ALICE)).status_code == 401


def test_not_configured_is_503(settings: Settings, idp: Provider) -> None:
    app = create_app(settings.model_copy(update={"citizen_idp_issuer": ""}))
    with TestClient(app) as client:
        response = client.get(ACCESSES, headers=idp.bearer(ALICE))
        assert response.status_code == 503
        assert "DATARUN_CITIZEN_IDP_ISSUER" in response.json()["detail"]
    app.state.engine.dispose()


def test_the_jwks_can_be_a_local_file(settings: Settings, idp: Provider, tmp_path: Path) -> None:
    path = tmp_path / "zlb-jwks.json"
    path.write_text(json.dumps(idp.jwks()), encoding="utf-8")
    local = settings.model_copy(update={"citizen_idp_jwks_url": "", "citizen_idp_jwks_file": path})
    app = create_app(local)
    with TestClient(app) as client:
        assert client.get(ACCESSES, headers=idp.bearer(ALICE)).status_code == 200
    app.state.engine.dispose()
    assert idp.hits == 0


def test_the_jwks_is_cached_and_refetched_for_a_new_kid(settings: Settings, idp: Provider) -> None:
    keys = ProviderKeys(settings)
    assert keys.find("rsa-1", "RS256") is not None
    assert keys.find("ec-1", "ES256") is not None
    assert idp.hits == 1  # one fetch serves both, until the TTL runs out
    # The provider rotates: a kid we do not hold makes one early refetch...
    rotated = idp.jwks()
    rotated["keys"][0]["kid"] = "rsa-2"
    idp.document = rotated
    keys._snapshot = dataclasses.replace(keys._snapshot, tried_at=time.monotonic() - 60)
    assert keys.find("rsa-2", "RS256") is not None
    assert idp.hits == 2
    # ...but made-up kids do not turn into a flood of fetches.
    for i in range(20):
        assert keys.find(f"made-up-{i}", "RS256") is None
    assert idp.hits == 2


def test_keys_already_held_survive_a_provider_outage(settings: Settings, idp: Provider) -> None:
    keys = ProviderKeys(settings)
    assert keys.find("rsa-1", "RS256") is not None
    idp.document = {"not": "a jwks"}
    an_hour_ago = time.monotonic() - 3600
    keys._snapshot = dataclasses.replace(
        keys._snapshot, loaded_at=an_hour_ago, tried_at=an_hour_ago
    )
    assert keys.find("rsa-1", "RS256") is not None  # the refetch failed; the old keys stand
    assert keys.find("rsa-1", "RS256") is not None  # and the provider is not asked again at once
    assert idp.hits == 2


def test_an_unreachable_provider_is_503_and_not_hammered(settings: Settings, idp: Provider) -> None:
    idp.document = {"keys": "broken"}
    app = create_app(settings)
    with TestClient(app) as client:
        for _ in range(5):
            response = client.get(ACCESSES, headers=idp.bearer(ALICE))
            assert response.status_code == 503
            assert response.json()["detail"] == (
                "the citizen identity provider's keys are unavailable"
            )
    app.state.engine.dispose()
    assert idp.hits == 1


def test_parse_jwks_keeps_only_usable_public_signing_keys(idp: Provider) -> None:
    weak = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key()))
    private = json.loads(RSAAlgorithm.to_jwk(idp.rsa_key))
    good = idp.jwks()["keys"]
    document = {
        "keys": [
            {**weak, "kid": "weak"},
            {**private, "kid": "private"},
            {**good[0], "kid": "enc", "use": "enc"},
            {**good[0], "kid": "ps", "alg": "PS256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            *good,
        ]
    }
    found = parse_jwks(document, frozenset({"RS256", "ES256", "EdDSA"}))
    assert [(k.kid, k.alg) for k in found] == [("rsa-1", "RS256"), ("ec-1", "ES256")]
    only_ec = parse_jwks(document, frozenset({"ES256"}))
    assert [k.kid for k in only_ec] == ["ec-1"]


def test_settings_refuse_symmetric_and_none_algorithms() -> None:
    for bad in (["none"], ["HS256"], ["RS256", "HS512"], []):
        with pytest.raises(ValidationError):
            Settings(citizen_idp_algorithms=bad)
    assert Settings(citizen_idp_algorithms=["EdDSA"]).citizen_idp_algorithms == ["EdDSA"]


def test_the_audience_and_issuer_come_from_settings(settings: Settings) -> None:
    assert settings.citizen_idp_issuer == ISSUER and settings.citizen_idp_audience == AUDIENCE
