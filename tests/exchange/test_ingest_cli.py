"""``onestory ingest`` and ``onestory quarantine`` as people run them: tables, exit statuses and
one-line errors, on a real data directory."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from onestory.cli import main
from onestory.exchange.tables import AgencyRecord, QuarantinedRow
from onestory.store import create_engine_for, session_factory
from onestory.synth import write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, people=40, seed=9)
    return out


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONESTORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def spoilt(world: Path, out: Path) -> Path:
    with (world / "police.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[:6]
    rows[3][rows[0].index("DOB")] = "31/02/1990"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return out


def count(data_dir: Path, table: type) -> int:
    engine = create_engine_for(f"sqlite:///{data_dir / 'onestory.sqlite3'}")
    try:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        engine.dispose()


def test_ingest_prints_a_table_and_points_at_the_quarantine(
    data_dir: Path, world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spoilt(world, tmp_path / "police.csv")
    assert main(["ingest", "police", str(path), "--chunk", "2"]) == 0
    out = capsys.readouterr().out
    assert "police-suspects" in out and "Accepted" in out
    assert "1 row quarantined from police.csv: see `onestory quarantine list --file 1`" in out
    assert count(data_dir, AgencyRecord) == 4

    assert main(["ingest", "police", str(path)]) == 0
    assert "already received: nothing changed" in " ".join(capsys.readouterr().out.split())
    assert count(data_dir, AgencyRecord) == 4

    assert main(["quarantine", "list", "--file", "1"]) == 0
    listed = capsys.readouterr().out
    assert "DOB" in listed and "open" in listed
    assert main(["quarantine", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "31/02/1990" in shown and "How to fix it".lower() in shown.lower()

    assert main(["quarantine", "resubmit", "1", "--set", "DOB=30/02/1990"]) == 1
    assert "still not right" in capsys.readouterr().out
    with (world / "police.csv").open(encoding="utf-8", newline="") as handle:
        right = list(csv.DictReader(handle))[2]
    assert main(["quarantine", "resubmit", "1", "--set", f"DOB={right['DOB']}"]) == 0
    assert "accepted: it is record" in capsys.readouterr().out
    assert count(data_dir, AgencyRecord) == 5
    assert main(["quarantine", "withdraw", "1", "--reason", "too late"]) == 2
    assert "already resubmitted" in capsys.readouterr().err
    assert main(["quarantine", "list", "--status", "resubmitted"]) == 0
    assert count(data_dir, QuarantinedRow) == 1


def test_events_are_ingested_through_intake(
    data_dir: Path, world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "events", str(world / "events.jsonl"), "--chunk", "100"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "layout events" in out and "quarantined from" not in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ingest", "police", "missing.csv"], "missing.csv: no such file"),
        (["ingest", "police", "{world}/cps.json"], "cps.json"),
        (["ingest", "police", "{world}/police.csv", "--layout", "nope"], "no layout 'nope'"),
        (["quarantine", "show", "99"], "no quarantined row 99"),
        (["quarantine", "resubmit", "1", "--set", "DOB"], "FIELD=VALUE"),
        (["quarantine", "list", "--status", "lost"], "--status lost"),
    ],
)
def test_mistakes_are_one_line_errors(
    data_dir: Path,
    world: Path,
    args: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([a.replace("{world}", str(world)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ") and fragment in err, err
    assert "Traceback" not in err
