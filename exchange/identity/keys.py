"""The hub's token-signing keys (Ed25519): creation, rotation with overlap, and the key ring."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.core.db import utcnow
from exchange.core.settings import Settings
from exchange.identity import crypto
from exchange.identity.models import SigningKey

ALG = "EdDSA"
_UNKNOWN_KID_REFRESH_SECONDS = 5.0


def _new_key(settings: Settings) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = f"hub-{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": ALG, "use": "sig"})
    return SigningKey(
        kid=kid,
        alg=ALG,
        private_key_encrypted=crypto.encrypt(settings.secret_key.get_secret_value(), pem),
        public_jwk=jwk,
    )


def active_key(session: Session) -> SigningKey | None:
    """Return the newest key that still signs, if any."""
    stmt = (
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def ensure_signing_key(session: Session, settings: Settings) -> SigningKey:
    """Return the active signing key, creating the first one if there is none."""
    key = active_key(session)
    if key is None:
        key = _new_key(settings)
        session.add(key)
        session.flush()
    return key


def rotate(session: Session, settings: Settings) -> SigningKey:
    """Start signing with a new key; old keys keep verifying for the overlap window."""
    now = utcnow()
    overlap = timedelta(
        seconds=max(
            settings.key_overlap_seconds,
            settings.access_token_ttl_seconds + settings.token_leeway_seconds,
        )
    )
    for old in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        old.retired_at = now
        old.expires_at = now + overlap
    key = _new_key(settings)
    session.add(key)
    session.flush()
    return key


def published_keys(session: Session) -> list[SigningKey]:
    """Return the keys that verify tokens now: active ones and retired ones in overlap."""
    now = utcnow()
    keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    return [k for k in keys if k.expires_at is None or k.expires_at > now]


@dataclass(frozen=True)
class _Snapshot:
    signing_kid: str | None
    signing_key: Ed25519PrivateKey | None
    verify: dict[str, tuple[Ed25519PublicKey, datetime | None]]
    loaded_at: float


class KeyRing:
    """An in-memory view of the signing keys, refreshed from the database when stale."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, ttl: float = 30.0):
        self._factory = factory
        self._settings = settings
        self._ttl = ttl
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(None, None, {}, 0.0)

    def refresh(self) -> None:
        """Reload keys from the database (creating the first key if needed)."""
        secret = self._settings.secret_key.get_secret_value()
        with self._factory() as session:
            current = ensure_signing_key(session, self._settings)
            session.commit()
            verify: dict[str, tuple[Ed25519PublicKey, datetime | None]] = {}
            for key in published_keys(session):
                public = OKPAlgorithm.from_jwk(json.dumps(key.public_jwk))
                assert isinstance(public, Ed25519PublicKey)
                verify[key.kid] = (public, key.expires_at)
            pem = crypto.decrypt(secret, current.private_key_encrypted)
            private = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(private, Ed25519PrivateKey)
            self._snapshot = _Snapshot(current.kid, private, verify, time.monotonic())

    def _fresh(self) -> _Snapshot:
        snap = self._snapshot
        if time.monotonic() - snap.loaded_at > self._ttl or snap.signing_key is None:
            with self._lock:
                if self._snapshot is snap:
                    self.refresh()
        return self._snapshot

    def signing(self) -> tuple[str, Ed25519PrivateKey]:
        """Return the kid and private key to sign new tokens with."""
        snap = self._fresh()
        assert snap.signing_kid is not None and snap.signing_key is not None
        return snap.signing_kid, snap.signing_key

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """Return the public key for ``kid`` if it is a known, unexpired hub key."""
        snap = self._fresh()
        found = snap.verify.get(kid)
        if found is None and time.monotonic() - snap.loaded_at > _UNKNOWN_KID_REFRESH_SECONDS:
            # Another process may have rotated; look again, but never more than this often.
            with self._lock:
                self.refresh()
            found = self._snapshot.verify.get(kid)
        if found is None:
            return None
        public, expires_at = found
        if expires_at is not None and expires_at <= utcnow():
            return None
        return public
