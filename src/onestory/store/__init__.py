"""Storage: SQLAlchemy engine and sessions, the shared table base, Alembic migrations."""

from onestory.store.base import Base
from onestory.store.engine import create_engine_for, session_factory

__all__ = ["Base", "create_engine_for", "session_factory"]
