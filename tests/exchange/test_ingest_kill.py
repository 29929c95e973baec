"""``onestory ingest`` killed with SIGKILL part-way, then run again, ends exactly where one clean
run ends: same records, same counts, same quarantine, and a ledger that verifies. Run for real,
as a subprocess, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from onestory.exchange.ingest import EVENTS, RECORD_RECEIVED, ingest_file
from onestory.exchange.tables import (
    COMPLETE,
    RUNNING,
    AgencyRecord,
    IngestFile,
    QuarantinedRow,
    StoredEvent,
)
from onestory.ledger.note import NoteSigner, NoteVerifier
from onestory.ledger.tables import LedgerEntry
from onestory.ledger.verify import verify_ledger
from onestory.store import create_engine_for, session_factory
from onestory.store.catalog import load_metadata
from onestory.synth import write_world

CHUNK = 100
# Killed once this many rows are committed: several chunks in, well before the end.
KILL_AFTER = 3 * CHUNK


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w20k"
    write_world(out, people=20_000, seed=3)
    return out


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w300"
    write_world(out, people=300, seed=3)
    return out


def run_ingest(db_url: str, data_dir: Path, agency: str, path: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ONESTORY_DATA_DIR": str(data_dir),
        "ONESTORY_DATABASE_URL": db_url,
        "COLUMNS": "120",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "onestory", "ingest", agency, str(path), "--chunk", str(CHUNK)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows_committed(engine: Engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT max(rows_seen) FROM ingest_file")).scalar() or 0)
    except DBAPIError:  # the command is still creating the schema
        return 0


def snapshot(session: Session) -> dict[str, Any]:
    file = session.scalars(select(IngestFile)).one()
    return {
        "file": (file.status, file.rows_seen, file.accepted, file.rejected, file.duplicate),
        "records": sorted(session.scalars(select(AgencyRecord.id))),
        "events": sorted(session.scalars(select(StoredEvent.id))),
        "quarantine": sorted(
            (q.record_key, q.line, q.raw, json.dumps(q.problems, sort_keys=True))
            for q in session.scalars(select(QuarantinedRow))
        ),
        "ledger": sorted(
            tuple(row)
            for row in session.execute(
                select(LedgerEntry.entry_type, func.count()).group_by(LedgerEntry.entry_type)
            )
        ),
    }


def clean_run(tmp_path: Path, agency: str, path: Path) -> dict[str, Any]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'clean.sqlite3'}")
    load_metadata().create_all(engine)
    sessions = session_factory(engine)
    ingest_file(sessions, agency, path, actor="cli:clean", chunk_size=CHUNK)
    with sessions() as session:
        result = snapshot(session)
    engine.dispose()
    return result


@pytest.mark.parametrize("agency", ["police", EVENTS])
def test_killed_ingest_finishes_on_the_next_run_as_if_never_killed(
    agency: str, db_url: str, tmp_path: Path, big_world: Path, small_world: Path
) -> None:
    path = big_world / "police.csv" if agency == "police" else small_world / "events.jsonl"
    watcher = create_engine_for(db_url)
    process = run_ingest(db_url, tmp_path / "data", agency, path)
    try:
        deadline = time.monotonic() + 240
        while rows_committed(watcher) < KILL_AFTER:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first chunks were never committed"
            time.sleep(0.02)
        process.kill()  # SIGKILL: no clean-up, no handler
    finally:
        process.wait(timeout=60)
        process.stdout and process.stdout.close()
        process.stderr and process.stderr.close()
    assert process.returncode == -9

    sessions = session_factory(watcher)
    with sessions() as session:
        file = session.scalars(select(IngestFile)).one()
        assert file.status == RUNNING and KILL_AFTER <= file.rows_seen < 12_000
        # Whole chunks or nothing: the counters account for every stored row and entry.
        assert file.rows_seen % CHUNK == 0
        assert file.accepted + file.rejected + file.duplicate == file.rows_seen
        assert session.scalar(select(func.count()).select_from(QuarantinedRow)) == file.rejected
        if agency == "police":
            held = session.scalar(select(func.count()).select_from(AgencyRecord))
            received = session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.entry_type == RECORD_RECEIVED)
            )
            assert held == received == file.accepted

    again = run_ingest(db_url, tmp_path / "data", agency, path)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "resumed where the last run stopped" in " ".join(out.split())

    with sessions() as session:
        killed = snapshot(session)
        report = verify_ledger(
            session, NoteVerifier.from_verifier_key(NoteSigner.generate("t.local/l").verifier_key())
        )
        assert report.ok, report.problems
    watcher.dispose()
    assert killed["file"][0] == COMPLETE
    assert killed == clean_run(tmp_path, agency, path)
