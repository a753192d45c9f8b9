"""Request-scoped dependencies shared by every router: the database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from exchange.core.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield the request's session; commit when the endpoint returns, roll back on error."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


# scope="function": commit before the response is sent, so a client never reads its own
# write too early and a failed commit is an error response, not a silently lost 200.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
