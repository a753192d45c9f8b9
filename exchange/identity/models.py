"""Principals (department systems and people) and the hub's signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.departments.models import Department
from exchange.core.db import Base, utcnow


class System(Base):
    """A registered department system (client): authenticates with its own key pair."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    jwks: Mapped[dict[str, Any]] = mapped_column(default=dict)  # public keys only
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="selectin")


class User(Base):
    """A person: data administrator, province administrator or auditor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Console sign-in: failed attempts in a row, and the lock they lead to (exchange/console).
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)

    department: Mapped[Department] = relationship(lazy="selectin")


class SigningKey(Base):
    """A hub token-signing key; the private half is encrypted with the hub secret."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)  # stops signing
    expires_at: Mapped[datetime | None] = mapped_column(default=None)  # leaves the JWKS


class UsedAssertion(Base):
    """A client assertion ``jti`` already spent (RFC 7523 replay protection).

    Keyed by (client_id, jti): a ``jti`` is unique per issuer, so one system can never
    spend, and so block, another system's identifier.
    """

    __tablename__ = "used_assertions"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
