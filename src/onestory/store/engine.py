"""Engines and sessions for the embedded default (SQLite) and production (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The web server runs synchronous handlers on a pool of 40 threads (AnyIO's default); with fewer
# connections than threads, requests queue for a connection and, under load, time out (a 500)
# instead of waiting their turn for the database.
POOL_SIZE = 10
MAX_OVERFLOW = 40


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with OneStory's settings for that database.

    SQLite runs in WAL mode with foreign keys on and a busy timeout, so that the web server and a
    CLI job can share one file. PostgreSQL URLs may use the plain ``postgresql://`` scheme; it is
    mapped to psycopg 3.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    if url.startswith("sqlite:///:memory:") or url == "sqlite://":
        kwargs.pop("pool_size")
        kwargs.pop("max_overflow")
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session maker bound to ``engine``; sessions do not expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
