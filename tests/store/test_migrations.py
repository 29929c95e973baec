"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, inspect, select

from onestory.exchange.tables import StoredEvent
from onestory.store import session_factory
from onestory.store.catalog import load_metadata
from onestory.store.migrate import current_revision, head_revision, schema_differences, upgrade


def test_migrations_reach_head_and_match_the_models(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision(bare_engine)
    assert schema_differences(bare_engine) == []
    assert set(load_metadata().tables) <= set(inspect(bare_engine).get_table_names())


def test_upgrade_twice_is_harmless(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision(bare_engine)


def test_migration_files_are_numbered_in_sequence() -> None:
    from onestory.store.migrate import MIGRATIONS_DIR

    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    numbers = [int(n.split("_", 1)[0]) for n in names]
    assert numbers == list(range(1, len(numbers) + 1))


def test_times_come_back_aware_in_utc_and_naive_ones_are_refused(engine: Engine) -> None:
    sessions = session_factory(engine)
    paris = timezone(timedelta(hours=1))
    with sessions() as session:
        session.add(
            StoredEvent(
                id="e1",
                type="court.hearing.listed",
                version=1,
                occurred_at=datetime(2026, 1, 5, 10, 0, tzinfo=paris),
                asserted_by="X",
                envelope={"k": [1, 2]},
            )
        )
        session.commit()
    with sessions() as session:
        stored = session.scalars(select(StoredEvent)).one()
        assert stored.occurred_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        assert stored.occurred_at.tzinfo is not None
        assert stored.envelope == {"k": [1, 2]}
        stored.occurred_at = datetime(2026, 1, 5, 9, 0)
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()
