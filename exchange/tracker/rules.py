"""Pure rules of the data tracker: the pseudonym of a citizen in the tracker's read record."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def reader_key(secret: str) -> bytes:
    """Derive the key of the tracker-read pseudonyms from the hub secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"datarun-tracker", info=b"reader-v1"
    ).derive(secret.encode())


def subject_hmac(key: bytes, id_number: str) -> str:
    """Return HMAC-SHA256(key, id_number) in hex: one citizen's reads, without their ID."""
    return hmac.new(key, id_number.encode(), hashlib.sha256).hexdigest()
