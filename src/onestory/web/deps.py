"""Dependencies that hand route handlers the database session and the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from onestory.config import Settings


def get_db_session(request: Request) -> Iterator[Session]:
    """A session for this request; the handler (or service) decides when to commit."""
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_db_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
