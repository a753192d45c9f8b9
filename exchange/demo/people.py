"""Console sign-in for the demo province's people (development only).

``datarun demo up`` gives every demo person who has no password yet one shared demo
password, generated once per data directory and kept in ``<data_dir>/demo-console-password``
(mode 0600), so a newcomer can sign in to ``/console`` straight away. Production never
runs this: there an operator sets each person's password with ``datarun users
set-password``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.console import passwords
from exchange.core.settings import Settings
from exchange.identity.models import User

PASSWORD_FILE = "demo-console-password"  # noqa: S105 (a file name, not a password)


def demo_password(settings: Settings) -> str:
    """Return the data directory's demo password, creating it (0600) on first use."""
    path: Path = settings.data_dir / PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = "demo-" + secrets.token_urlsafe(9)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def give_demo_passwords(session: Session, settings: Settings) -> list[str]:
    """Set the demo password for every person without one; return their usernames."""
    if settings.environment == "production":
        raise RuntimeError("demo passwords are never set in production")
    people = session.scalars(
        select(User).where(User.password_hash.is_(None)).order_by(User.username)
    ).all()
    if not people:
        return []
    hashed = passwords.hash_password(demo_password(settings))  # argon2id: hash once
    for person in people:
        person.password_hash = hashed
    session.flush()
    return [p.username for p in people]
