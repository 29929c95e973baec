"""Alembic environment: runs on the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context

from onestory.store.catalog import load_metadata

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=load_metadata(),
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
