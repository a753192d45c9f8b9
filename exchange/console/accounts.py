"""People's console passwords, set by an operator with ``datarun users set-password``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.console import passwords, repository, rules
from exchange.core.errors import InvalidInput, NotFound
from exchange.identity import repository as identity_repository
from exchange.identity.models import User


def _user(session: Session, username: str) -> User:
    user = identity_repository.user_by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def set_password(session: Session, *, username: str, password: str) -> User:
    """Set a person's password (argon2id), unlock them and end their open sessions."""
    user = _user(session, username)
    problems = rules.password_problems(password, user.username)
    if problems:
        errors = [{"field": "password", "message": p} for p in problems]
        raise InvalidInput("the password is not acceptable", errors=errors)
    user.password_hash = passwords.hash_password(password)
    user.failed_sign_ins, user.locked_until = 0, None
    repository.delete_user_sessions(session, user.id)
    session.flush()
    return user


def unlock(session: Session, *, username: str) -> User:
    """Lift a sign-in lock now (after the person's identity has been checked)."""
    user = _user(session, username)
    user.failed_sign_ins, user.locked_until = 0, None
    session.flush()
    return user
