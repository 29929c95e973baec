"""``onestory linkage run | review | report`` in-process, on a SQLite data directory.

The migration that creates the person index's tables is written by the lead after this work
(0006); until then the test adds them with ``create_all`` after ``onestory db upgrade``, which
leaves the migrated tables as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_index_world import insert_world, make_world

from onestory.cli import main
from onestory.linkage.atr import SECTIONS
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata


def test_run_review_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    load_metadata().create_all(engine)
    world = make_world(20, seed=13)
    with session_factory(engine)() as session:
        insert_world(session, world)
    engine.dispose()
    capsys.readouterr()

    assert main(["linkage", "run"]) == 0
    out = capsys.readouterr().out
    assert "Linkage run 1" in out and f"{len(world.truth)}" in out and "trained now" in out
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
    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    load_metadata().create_all(engine)
    engine.dispose()
    assert main(["linkage", "run"]) == 2
    assert "no agency records to link" in capsys.readouterr().err
