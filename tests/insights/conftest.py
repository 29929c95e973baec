"""Fixtures for the insights tests: one small world, built once per test session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from insights_world import InsightsWorld, build_insights_world

# The page-checking client and the browser kit live in tests/web.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))


@pytest.fixture(scope="session")
def insights_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsWorld]:
    """A 400-person synthetic world, ingested into SQLite, linked and snapshotted (read only:
    copy the snapshot folder before changing anything in it)."""
    built = build_insights_world(tmp_path_factory.mktemp("insights-world"))
    yield built
    built.engine.dispose()
