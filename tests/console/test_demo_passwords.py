"""The demo people can sign in to the console after ``datarun demo up`` (development only)."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.core.settings import Settings
from exchange.demo.people import PASSWORD_FILE, demo_password, give_demo_passwords
from exchange.demo.seed import SeedResult
from exchange.identity.models import User
from tests.console.support import sign_in


def test_every_demo_person_gets_the_demo_password_once(
    demo_province: SeedResult, db: Session, settings: Settings, client: TestClient
) -> None:
    given = give_demo_passwords(db, settings)
    db.commit()
    assert "auditor" in given and "gat-admin" in given
    assert all(u.password_hash for u in db.scalars(select(User)))
    path = settings.data_dir / PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert give_demo_passwords(db, settings) == []  # nobody left without one
    assert demo_password(settings) == path.read_text(encoding="utf-8").strip()

    assert sign_in(client, "auditor", demo_password(settings))  # signed in: a CSRF token


def test_never_in_production(db: Session, settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(RuntimeError, match="never"):
        give_demo_passwords(db, production)
