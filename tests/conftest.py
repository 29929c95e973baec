"""Fixtures shared by the whole suite: an isolated database per test on SQLite and PostgreSQL.

PostgreSQL is found at ``ONESTORY_TEST_POSTGRES_URL`` (default: the local ``test`` database).
Each PostgreSQL test gets a schema of its own, dropped afterwards, so tests can commit and run
in parallel. When the server is unreachable the PostgreSQL cases skip with the reason, except
under ``CI=true``, where they fail: CI must exercise both databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata

POSTGRES_URL = os.environ.get(
    "ONESTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@cache
def postgres_unavailable_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means the same: no PostgreSQL here
        return f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__}: {exc})"
    return None


def require_postgres() -> None:
    """Skip (or, in CI, fail) when PostgreSQL is not there."""
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires the PostgreSQL tests to run")
    pytest.skip(reason)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty PostgreSQL schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{os.path.join(tmp_path, 'test.sqlite3')}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database (no tables)."""
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a database holding the whole current schema."""
    load_metadata().create_all(bare_engine)
    return bare_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a fresh database with the whole schema."""
    with session_factory(engine)() as s:
        yield s
