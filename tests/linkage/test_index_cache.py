"""The prepared copy of the index that incremental placing reads instead of the database:
written by a full run, the same as preparing the index afresh, extended by each placing, and
not used once it disagrees with the index in the database."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_index_world import build_index, insert_world, make_world

from onestory.linkage import index, index_cache
from onestory.linkage import model as splink_model
from onestory.linkage.tables import PersonMember
from onestory.store import session_factory

ACTOR = "test:linkage"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _indexed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PersonMember)) or 0)


def _fresh(sessions: sessionmaker[Session]) -> pd.DataFrame:
    with sessions() as session:
        frame = splink_model.prepare(index.load_frame(session, indexed=True))
    return frame.sort_values("record_id").reset_index(drop=True)


def test_placing_new_records_reads_and_extends_the_copy(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    build_index(sessions, make_world(25, seed=21))
    copy = tmp_path / "index"
    with sessions() as session:
        version = index.latest_model(session).version  # type: ignore[union-attr]
    # A full run writes the copy: exactly what preparing the index afresh gives.
    index.run(sessions, actor=ACTOR, cache_dir=copy)
    held = index_cache.read(copy, model_version=version, rows=_indexed(sessions))
    assert held is not None
    pd.testing.assert_frame_equal(
        held.sort_values("record_id").reset_index(drop=True), _fresh(sessions)
    )

    newcomers = make_world(6, seed=22, first=500)
    with sessions() as session:
        insert_world(session, newcomers)
    summary = index.link_arrivals(sessions, actor=ACTOR, cache_dir=copy)
    assert summary.records == len(newcomers.rows)
    # The copy now holds the placed records too, and still equals a fresh preparation.
    held = index_cache.read(copy, model_version=version, rows=_indexed(sessions))
    assert held is not None and len(held) == _indexed(sessions)
    pd.testing.assert_frame_equal(
        held.sort_values("record_id").reset_index(drop=True), _fresh(sessions)
    )


def test_a_copy_that_disagrees_with_the_database_is_not_used(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    build_index(sessions, make_world(20, seed=23))
    copy = tmp_path / "index"
    with sessions() as session:
        version = index.latest_model(session).version  # type: ignore[union-attr]
    index.run(sessions, actor=ACTOR, cache_dir=copy)
    # Records placed by a process that does not keep the copy: the copy is now one behind.
    later = make_world(3, seed=24, first=700)
    with sessions() as session:
        insert_world(session, later)
    index.link_arrivals(sessions, actor=ACTOR)
    assert index_cache.read(copy, model_version=version, rows=_indexed(sessions)) is None
    assert index_cache.read(copy, model_version=version + 1, rows=0) is None
    # The next placing with the copy notices, rebuilds it from the database, and goes on.
    more = make_world(3, seed=25, first=800)
    with sessions() as session:
        insert_world(session, more)
    index.link_arrivals(sessions, actor=ACTOR, cache_dir=copy)
    held = index_cache.read(copy, model_version=version, rows=_indexed(sessions))
    assert held is not None
    pd.testing.assert_frame_equal(
        held.sort_values("record_id").reset_index(drop=True), _fresh(sessions)
    )
