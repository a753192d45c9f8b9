"""Connector bindings: where a catalogue resource's records live in the provider's system."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogs.resources.models import Resource
from exchange.core.db import Base, utcnow


class ConnectorBinding(Base):
    """Binds one resource to an adapter with its config and the item → column mapping."""

    __tablename__ = "connector_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), unique=True)
    adapter: Mapped[str] = mapped_column(String(64))  # registry name: sql | duckdb | http | …
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # non-secret settings
    secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)  # Fernet JSON
    key_item: Mapped[str] = mapped_column(String(64))  # the catalogue item used as lookup key
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)  # item code → source column
    # ResiliencePolicy overrides (deadline, retries, breaker, concurrency); {} = defaults.
    resilience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    resource: Mapped[Resource] = relationship(lazy="selectin")


class ConnectorCheck(Base):
    """One health check of a binding's source, kept for the health-over-time view."""

    __tablename__ = "connector_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    binding_id: Mapped[int] = mapped_column(
        ForeignKey("connector_bindings.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column()
    latency_ms: Mapped[float] = mapped_column()
    detail: Mapped[str | None] = mapped_column(Text, default=None)
