"""Encrypt hub private keys at rest with a key derived from ``DATARUN_SECRET_KEY``."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _fernet(secret: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"datarun-key-encryption", info=b"v1"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str, plaintext: bytes) -> str:
    """Encrypt ``plaintext`` for storage."""
    return _fernet(secret).encrypt(plaintext).decode()


def decrypt(secret: str, token: str) -> bytes:
    """Decrypt a stored value; raise ``ValueError`` if the secret does not match."""
    try:
        return _fernet(secret).decrypt(token.encode())
    except InvalidToken as exc:
        raise ValueError("stored key cannot be decrypted with DATARUN_SECRET_KEY") from exc
