"""Fixtures for the insights tests: one small world, built once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from insights_world import InsightsWorld, build_insights_world


@pytest.fixture(scope="session")
def insights_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsWorld]:
    """A 400-person synthetic world, ingested into SQLite, linked and snapshotted (read only:
    copy the snapshot folder before changing anything in it)."""
    built = build_insights_world(tmp_path_factory.mktemp("insights-world"))
    yield built
    built.engine.dispose()
