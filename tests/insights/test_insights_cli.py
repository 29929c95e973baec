"""``onestory insights`` as an operator runs it on a migrated database (SQLite and PostgreSQL):
``snapshot``, ``publish`` (its table of measures, where the release is) and ``list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_insights_publish import load_world

from onestory import clitools
from onestory.cli import main
from onestory.clitools import open_database
from onestory.config import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory on the migrated test database, holding a small world and a checkpoint."""
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTORY_DATABASE_URL", db_url)
    monkeypatch.setattr(clitools.console, "_width", 250)  # made at import: COLUMNS is too late
    engine = open_database(get_settings())
    load_world(engine, tmp_path)
    engine.dispose()
    return tmp_path


def test_publish_writes_a_release_and_list_shows_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["insights", "list"]) == 0
    assert "No releases in" in capsys.readouterr().out

    assert main(["insights", "publish", "--threshold", "7", "--rounding", "2"]) == 0
    out = capsys.readouterr().out
    releases = sorted((data_dir / "insights" / "releases").iterdir())
    assert len(releases) == 1
    release = json.loads((releases[0] / "release.json").read_text(encoding="utf-8"))
    assert release["threshold"] == 7 and release["rounding"] == 2
    assert f"Release written to {releases[0]}" in out
    assert "Counts under 7 suppressed, counts rounded to multiples of 2" in out
    checkpoint = release["ledger_checkpoint"]
    assert f"ledger checkpoint of {checkpoint['size']:,} entries" in out
    for entry in release["measures"]:
        assert entry["id"] in out
        assert (releases[0] / entry["files"]["csv"]).exists()

    assert main(["insights", "list"]) == 0
    listed = capsys.readouterr().out
    assert release["id"] in listed and f"{checkpoint['size']:,} entries" in listed


def test_snapshot_writes_parquet_files_where_asked(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "snap"
    assert main(["insights", "snapshot", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["events"] > 0
    assert (out_dir / "events.parquet").exists()
    assert f"{manifest['tables']['events']:,}" in out
    # A snapshot is never overwritten: the second run fails in one line.
    assert main(["insights", "snapshot", "--out", str(out_dir)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_bad_threshold_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "publish", "--threshold", "0"]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert not (data_dir / "insights" / "releases").exists()
