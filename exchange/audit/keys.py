"""The checkpoint key (Ed25519): created on first use, private half encrypted with the hub secret.

It signs checkpoints, the head and export manifests. It is not the token-signing key: the
auditors pin it (its public half is at ``GET /v1/audit/checkpoint-key`` and in the
checkpoint directory) and it never changes with token key rotation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Connection

from exchange.audit import repository
from exchange.audit.rules import public_from_jwk, public_jwk
from exchange.core.db import utcnow
from exchange.identity import crypto


@dataclass(frozen=True)
class SigningKey:
    """A usable checkpoint key: its id, private half and public JWK."""

    kid: str
    private: Ed25519PrivateKey
    jwk: dict[str, Any]


def _decrypt(secret: str, encrypted: str) -> Ed25519PrivateKey:
    private = serialization.load_pem_private_key(crypto.decrypt(secret, encrypted), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("the stored checkpoint key is not an Ed25519 key")
    return private


def create_key(conn: Connection, secret: str) -> SigningKey:
    """Create and store a new checkpoint key (the caller holds the log's lock)."""
    private = Ed25519PrivateKey.generate()
    kid = f"audit-{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    jwk = public_jwk(kid, private.public_key())
    repository.insert_key(
        conn,
        kid=kid,
        public_jwk=jwk,
        private_key_encrypted=crypto.encrypt(secret, pem),
        created_at=utcnow(),
    )
    return SigningKey(kid, private, jwk)


class Signer:
    """The hub's current checkpoint key, loaded once (or created) inside a locked transaction."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._key: SigningKey | None = None

    def get(self, conn: Connection) -> SigningKey:
        """Return the signing key, creating the first one if the log has none."""
        if self._key is not None:
            return self._key
        row = repository.newest_key(conn)
        if row is None:
            # Not remembered until its transaction commits (see ``committed``).
            return create_key(conn, self._secret)
        self._key = SigningKey(
            row.kid, _decrypt(self._secret, row.private_key_encrypted), dict(row.public_jwk)
        )
        return self._key

    def committed(self, key: SigningKey) -> None:
        """Remember ``key`` now that the transaction that may have created it committed."""
        if self._key is None:
            self._key = key


def trusted_keys(
    conn: Connection, secret: str | None
) -> tuple[dict[str, Ed25519PublicKey], list[str]]:
    """Return the stored public keys that are the hub's own, and why any others are not.

    With the hub secret, a key counts only if its encrypted private half decrypts and
    matches the public one: a key row inserted by someone without the secret is refused.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    refused: list[str] = []
    for row in repository.all_keys(conn):
        try:
            public = public_from_jwk(row.public_jwk)
        except (ValueError, KeyError, TypeError):
            refused.append(f"checkpoint key {row.kid}: public key unreadable")
            continue
        if secret is not None:
            try:
                private = _decrypt(secret, row.private_key_encrypted)
            except ValueError:
                refused.append(f"checkpoint key {row.kid}: not the hub's (does not decrypt)")
                continue
            if public_jwk(row.kid, private.public_key())["x"] != row.public_jwk.get("x"):
                refused.append(f"checkpoint key {row.kid}: public half does not match")
                continue
        keys[row.kid] = public
    return keys, refused
