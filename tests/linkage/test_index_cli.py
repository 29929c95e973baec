"""``onestory linkage run [--new] | review | report`` in-process, on a SQLite data directory
migrated by ``onestory db upgrade``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_index_world import insert_world, make_world

from onestory.cli import main
from onestory.linkage.atr import SECTIONS
from onestory.linkage.tables import PersonMember
from onestory.store import create_engine_for, session_factory


def test_run_review_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    world = make_world(20, seed=13)
    with session_factory(engine)() as session:
        insert_world(session, world)
    engine.dispose()
    capsys.readouterr()

    assert main(["linkage", "run"]) == 0
    out = capsys.readouterr().out
    assert "Linkage run 1" in out and f"{len(world.truth)}" in out and "trained now" in out
    with session_factory(engine)() as session:
        before = dict(session.execute(select(PersonMember.record_id, PersonMember.person_id)).all())
        # More records arrive: people the index has never seen.
        later = make_world(5, seed=13, first=20)
        insert_world(session, later)
    assert main(["linkage", "run", "--new"]) == 0
    assert "Linkage run 2" in capsys.readouterr().out
    with session_factory(engine)() as session:
        after = dict(session.execute(select(PersonMember.record_id, PersonMember.person_id)).all())
    engine.dispose()
    # Everyone already in the index keeps their id; every new record has a person.
    assert {r: after[r] for r in before} == before
    assert set(after) == set(before) | {row["id"] for row in later.rows}
    assert main(["linkage", "run", "--new"]) == 0  # nothing new: nothing to do
    assert main(["linkage", "review"]) == 0
    assert "open" in capsys.readouterr().out
    record = tmp_path / "atr.md"
    assert main(["linkage", "report", "--out", str(record)]) == 0
    headings = [line[3:] for line in record.read_text().splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)


def test_a_run_with_no_records_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert main(["linkage", "run"]) == 2
    assert "no agency records to link" in capsys.readouterr().err
