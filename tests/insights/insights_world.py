"""A small synthetic world, loaded, linked and snapshotted, for the insights tests.

Built once per test session (see ``conftest.insights_world``): generating, ingesting and linking
a few hundred people takes most of a minute, and every measure's test reads the same snapshot.
Measures are checked against the world's truth files (``world``), never against their own SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine

from onestory.demo import ingest_world
from onestory.exchange.loader import load_organisations
from onestory.insights.snapshot import Snapshot, take_snapshot
from onestory.ledger.checkpoints import cut_checkpoint, load_or_create_signer
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata
from onestory.synth import write_world

PEOPLE = 400
SEED = 4
ORIGIN = "insights.test/ledger"


@dataclass(frozen=True)
class InsightsWorld:
    """The world's files, the database it was loaded into, and a snapshot of that database."""

    world: Path
    engine: Engine
    snapshot: Snapshot
    data_dir: Path


def _quiet() -> Progress:
    return Progress(console=Console(quiet=True), disable=True)


def build_insights_world(
    base: Path, *, people: int = PEOPLE, seed: int = SEED, link: bool = True
) -> InsightsWorld:
    """Generate a world in ``base``, load it into SQLite there, link it, sign a ledger
    checkpoint and take a snapshot, as ``onestory demo`` does."""
    world = base / "world"
    write_world(world, people=people, seed=seed)
    engine = create_engine_for(f"sqlite:///{base / 'onestory.sqlite3'}")
    load_metadata().create_all(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        load_organisations(session, world / "organisations.json")
        session.commit()
    ingest_world(sessions, world, actor="system:test", bar=_quiet)
    if link:
        from onestory.linkage import index  # Splink loads slowly; only when linking

        index.run(sessions, actor="system:test", cache_dir=base / "index")
    with sessions() as session:
        cut_checkpoint(session, load_or_create_signer(base, ORIGIN))
        session.commit()
    with sessions() as session:
        snapshot = take_snapshot(session, base / "snapshot")
    return InsightsWorld(world=world, engine=engine, snapshot=snapshot, data_dir=base)
