"""Password hashing for people: argon2id (RFC 9106) with argon2-cffi's recommended costs."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache
def hasher() -> PasswordHasher:
    """Return the process's argon2id hasher (RFC 9106 low-memory profile: t=3, m=64 MiB)."""
    return PasswordHasher(type=Type.ID)


def hash_password(password: str) -> str:
    """Return the argon2id hash (PHC string, salt included) of ``password``."""
    return hasher().hash(password)


@lru_cache
def _decoy() -> str:
    return hash_password("decoy password: never matches a real one")


def verify_password(stored: str | None, password: str) -> bool:
    """Return whether ``password`` matches ``stored``; with no hash, spend the same time."""
    try:
        return hasher().verify(stored or _decoy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Return whether ``stored`` was made with weaker costs than today's."""
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True
