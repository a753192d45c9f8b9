"""Pure JWK rules: what a system may register, and the key ids the CLI derives."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from exchange.identity import clients, rules

# RFC 8037 Appendix A.2 public key, whose thumbprint Appendix A.3 gives.
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_PUBLIC = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}


def test_thumbprint_matches_rfc_8037_appendix_a3() -> None:
    assert rules.thumbprint(RFC8037_PUBLIC) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_generated_pair_is_public_and_private_halves_of_one_key() -> None:
    private, public = clients.generate_key_pair()
    assert rules.jwks_problems({"keys": [public]}) == []
    assert public == rules.public_part(private) and "d" in private and "d" not in public
    token = clients.build_client_assertion("sys-1", private, "https://hub/oauth/token")
    _, key = rules.public_key(public)
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="https://hub/oauth/token")
    assert claims["iss"] == claims["sub"] == "sys-1"
    assert claims["exp"] - claims["iat"] == clients.DEFAULT_ASSERTION_LIFETIME
    assert jwt.get_unverified_header(token)["kid"] == public["kid"]


def test_p256_private_jwk_signs_es256_assertions() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    private = ECAlgorithm.to_jwk(private_key, as_dict=True)
    token = clients.build_client_assertion("sys-1", private, "aud")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert jwt.get_unverified_header(token)["kid"] == rules.thumbprint(private)


def test_a_public_key_cannot_sign() -> None:
    _, public = clients.generate_key_pair()
    with pytest.raises(ValueError, match="private"):
        clients.build_client_assertion("sys-1", public, "aud")


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        (RFC8037_PUBLIC | {"kid": "a", "alg": "ES256"}, "jwks.keys[0]"),
        (RFC8037_PUBLIC | {"kid": "a", "use": "enc"}, "jwks.keys[0].use"),
        (RFC8037_PUBLIC | {"kid": "a", "p": "x"}, "jwks.keys[0].p"),
        (RFC8037_PUBLIC | {"kid": ""}, "jwks.keys[0].kid"),
        ("not-an-object", "jwks.keys[0]"),
    ],
)
def test_jwks_problems_name_the_member(jwk: object, field: str) -> None:
    problems = rules.jwks_problems({"keys": [jwk]})
    assert field in [p["field"] for p in problems]


def test_find_key_only_matches_exact_kid() -> None:
    jwks = {"keys": [RFC8037_PUBLIC | {"kid": "a"}]}
    assert rules.find_key(jwks, "a") is not None
    assert rules.find_key(jwks, "A") is None
    assert rules.find_key({}, "a") is None
