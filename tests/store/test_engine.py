"""The SQLite engine runs in WAL mode with foreign keys enforced."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from onestory.store import create_engine_for


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_plain_postgresql_url_uses_psycopg() -> None:
    engine = create_engine_for("postgresql://u@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
