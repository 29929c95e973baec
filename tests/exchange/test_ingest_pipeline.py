"""The bulk-ingest pipeline in process, on SQLite and PostgreSQL, against a real synthetic world:
chunks, quarantine, duplicates, re-delivery, resumption, resubmission and withdrawal."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from onestory.exchange.ingest import (
    EVENTS,
    FILE_INGESTED,
    RECORD_RECEIVED,
    ROW_RESUBMITTED,
    ROW_WITHDRAWN,
    IngestError,
    corrected_fields,
    flat_fields,
    ingest_file,
    parse_assignments,
    resubmit,
    withdraw,
)
from onestory.exchange.tables import (
    COMPLETE,
    OPEN,
    RESUBMITTED,
    RUNNING,
    WITHDRAWN,
    AgencyRecord,
    IngestFile,
    QuarantinedRow,
    StoredEvent,
)
from onestory.ledger.log import tree_size
from onestory.ledger.note import NoteSigner, NoteVerifier
from onestory.ledger.tables import LedgerEntry
from onestory.ledger.verify import verify_ledger
from onestory.store import session_factory
from onestory.synth import write_world

ACTOR = "cli:test"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, people=80, seed=11)
    return out


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def count(session: Session, table: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def entries(session: Session, entry_type: str) -> int:
    return count(session, LedgerEntry, LedgerEntry.entry_type == entry_type)


def assert_ledger_verifies(session: Session) -> None:
    verifier = NoteVerifier.from_verifier_key(NoteSigner.generate("test.local/l").verifier_key())
    report = verify_ledger(session, verifier)
    assert report.ok, report.problems


def broken_events(world: Path, tmp_path: Path) -> tuple[Path, int]:
    """The world's events with three bad lines put in: not JSON, no event type, a bad date."""
    lines = (world / "events.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    no_type = {k: v for k, v in first.items() if k != "eventType"} | {
        "id": "0" * 8 + "-0000-4000-8000-" + "0" * 12
    }
    bad_date = dict(json.loads(lines[1]), occurredAt="yesterday")
    bad_date["id"] = "1" * 8 + "-1111-4111-8111-" + "1" * 12
    out = tmp_path / "events.jsonl"
    body = [
        lines[0],
        "{not json",
        json.dumps(no_type),
        *lines[1:5],
        json.dumps(bad_date),
        *lines[5:],
    ]
    out.write_text("\n".join(body) + "\n", encoding="utf-8")
    return out, len(lines)


# --- common-model events --------------------------------------------------------------------------


def test_events_are_stored_ledgered_and_bad_lines_quarantined(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    path, good = broken_events(world, tmp_path)
    told: list[int] = []
    summary = ingest_file(sessions, EVENTS, path, actor=ACTOR, chunk_size=50, progress=told.append)
    assert (summary.accepted, summary.rejected, summary.duplicate) == (good, 3, 0)
    assert summary.rows == good + 3 and summary.status == COMPLETE
    assert sum(told) == path.stat().st_size
    with sessions() as session:
        assert count(session, StoredEvent) == good
        assert entries(session, "exchange.event.received") == good
        rows = session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.line)).all()
        assert [r.line for r in rows] == [2, 3, 8]
        assert rows[0].fields is None and "not JSON" in rows[0].problems[0]["problem"]
        assert rows[0].raw == "{not json"
        assert rows[2].problems[0]["field"] == "occurredAt"
        assert all(r.status == OPEN and r.problems[0]["fix"] for r in rows)
        assert_ledger_verifies(session)


def test_the_same_events_file_again_changes_nothing(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    path, _ = broken_events(world, tmp_path)
    first = ingest_file(sessions, EVENTS, path, actor=ACTOR, chunk_size=200)
    with sessions() as session:
        before = (tree_size(session), count(session, StoredEvent), count(session, QuarantinedRow))
    again = ingest_file(sessions, EVENTS, path, actor=ACTOR, chunk_size=7)
    assert again.already_received and again.id == first.id
    assert (again.accepted, again.rejected, again.duplicate) == (
        first.accepted,
        first.rejected,
        first.duplicate,
    )
    with sessions() as session:
        after = (tree_size(session), count(session, StoredEvent), count(session, QuarantinedRow))
        assert after == before
        assert count(session, IngestFile) == 1


def test_another_file_repeating_events_counts_them_as_duplicates(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    lines = (world / "events.jsonl").read_text(encoding="utf-8").splitlines()
    part = tmp_path / "part.jsonl"
    part.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    ingest_file(sessions, EVENTS, part, actor=ACTOR)
    whole = ingest_file(sessions, EVENTS, world / "events.jsonl", actor=ACTOR, chunk_size=64)
    assert (whole.accepted, whole.duplicate, whole.rejected) == (len(lines) - 30, 30, 0)


class Stop(Exception):
    """Stands for the process dying between two chunks."""


def stop_after(chunks: int) -> Callable[[int], None]:
    seen = [0]

    def progress(_: int) -> None:
        seen[0] += 1
        if seen[0] == chunks:
            raise Stop

    return progress


def snapshot(session: Session) -> dict[str, Any]:
    """What a run leaves behind, in a form two databases can be compared by."""
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
            session.execute(
                select(LedgerEntry.entry_type, func.count()).group_by(LedgerEntry.entry_type)
            ).all()
        ),
    }


def test_an_interrupted_events_run_resumes_to_the_same_end_as_a_clean_one(
    engine: Engine, world: Path, tmp_path: Path
) -> None:
    path, _ = broken_events(world, tmp_path)
    sessions = session_factory(engine)
    with pytest.raises(Stop):
        ingest_file(sessions, EVENTS, path, actor=ACTOR, chunk_size=40, progress=stop_after(3))
    with sessions() as session:
        file = session.scalars(select(IngestFile)).one()
        assert file.status == RUNNING and file.rows_seen == 120
        assert count(session, StoredEvent) + count(session, QuarantinedRow) == 120
    resumed = ingest_file(sessions, EVENTS, path, actor=ACTOR, chunk_size=40)
    assert resumed.resumed and resumed.status == COMPLETE
    with sessions() as session:
        interrupted = snapshot(session)
        assert_ledger_verifies(session)

    clean_engine = _fresh_sqlite(tmp_path / "clean.sqlite3")
    clean_sessions = session_factory(clean_engine)
    ingest_file(clean_sessions, EVENTS, path, actor=ACTOR, chunk_size=40)
    with clean_sessions() as session:
        assert snapshot(session) == interrupted
    clean_engine.dispose()


def _fresh_sqlite(path: Path) -> Engine:
    from onestory.store import create_engine_for
    from onestory.store.catalog import load_metadata

    engine = create_engine_for(f"sqlite:///{path}")
    load_metadata().create_all(engine)
    return engine


def test_resubmitting_a_corrected_event_stores_it(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    path, good = broken_events(world, tmp_path)
    summary = ingest_file(sessions, EVENTS, path, actor=ACTOR)
    with sessions() as session:
        bad_date = session.scalars(select(QuarantinedRow).where(QuarantinedRow.line == 8)).one()
        assert ("occurredAt", "yesterday") in flat_fields(bad_date.fields)
        still = resubmit(session, bad_date.id, {"occurredAt": "not a date either"}, actor=ACTOR)
        session.commit()
        assert still.status == OPEN and still.problems[0]["field"] == "occurredAt"
        assert still.corrected and still.corrected["occurredAt"] == "not a date either"
        done = resubmit(
            session, bad_date.id, {"occurredAt": "2024-03-01T10:00:00+00:00"}, actor=ACTOR
        )
        session.commit()
        assert done.status == RESUBMITTED and done.resolved_by == ACTOR
        assert session.get(StoredEvent, done.record_id) is not None
        assert count(session, StoredEvent) == good + 1
        assert entries(session, ROW_RESUBMITTED) == 1
        with pytest.raises(IngestError, match="already resubmitted"):
            resubmit(session, bad_date.id, {}, actor=ACTOR)
        session.rollback()

        not_json = session.scalars(select(QuarantinedRow).where(QuarantinedRow.line == 2)).one()
        with pytest.raises(IngestError, match="say why"):
            withdraw(session, not_json.id, reason="  ", actor=ACTOR)
        withdraw(session, not_json.id, reason="sent in error", actor=ACTOR)
        session.commit()
        assert not_json.status == WITHDRAWN
        assert entries(session, ROW_WITHDRAWN) == 1
        assert entries(session, FILE_INGESTED) == 1
        assert session.get(IngestFile, summary.id) is not None
        assert_ledger_verifies(session)


def test_corrections_keep_text_as_text_and_open_up_nested_fields() -> None:
    csv_row = QuarantinedRow(layout="police-suspects", fields={"DOB": "x", "PNC_ID": None})
    assert corrected_fields(csv_row, {"DOB": "01/02/1990", "PNC_ID": "123"}) == {
        "DOB": "01/02/1990",
        "PNC_ID": "123",
    }
    event_row = QuarantinedRow(layout=EVENTS, fields={"version": 1, "payload": {"a": "b"}})
    fixed = corrected_fields(event_row, {"version": "2", "payload.c.d": "null", "payload.a": "7"})
    assert fixed == {"version": 2, "payload": {"a": "7", "c": {"d": None}}}
    assert parse_assignments(["DOB=1/2/1990", "NAME=A=B"]) == {"DOB": "1/2/1990", "NAME": "A=B"}
    with pytest.raises(IngestError, match="FIELD=VALUE"):
        parse_assignments(["DOB"])


def test_unknown_layout_and_missing_chunk_are_clear_errors(
    sessions: sessionmaker[Session], world: Path
) -> None:
    with pytest.raises(IngestError, match="at least 1"):
        ingest_file(sessions, EVENTS, world / "events.jsonl", actor=ACTOR, chunk_size=0)
    with pytest.raises(IngestError, match="one layout"):
        ingest_file(sessions, EVENTS, world / "events.jsonl", actor=ACTOR, layout="police")


# --- agency extracts ----------------------------------------------------------------------------


def truth_keys(world: Path, name: str) -> set[str]:
    lines = (world / "ground_truth.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",")[1] for line in lines if line.split(",")[0] == name}


def test_police_extract_is_accepted_or_quarantined_row_by_row(
    sessions: sessionmaker[Session], world: Path
) -> None:
    path = world / "police.csv"
    summary = ingest_file(sessions, "police", path, actor=ACTOR, chunk_size=25)
    keys = truth_keys(world, "police.csv")
    assert summary.rows == len(keys)
    assert summary.accepted + summary.rejected + summary.duplicate == summary.rows
    assert summary.accepted > 0
    with sessions() as session:
        records = session.scalars(select(AgencyRecord)).all()
        quarantined = session.scalars(select(QuarantinedRow)).all()
        assert len(records) == summary.accepted and len(quarantined) == summary.rejected
        # Every row of the file is somewhere: a record, a quarantined row, or a duplicate.
        assert {r.record_key for r in records} | {q.record_key for q in quarantined} <= keys
        assert all(r.source_name == "police.csv" and r.file_id == summary.id for r in records)
        assert all(q.problems and all(p["fix"] for p in q.problems) for q in quarantined)
        assert entries(session, RECORD_RECEIVED) == summary.accepted
        one = records[0]
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == RECORD_RECEIVED).limit(1)
        ).one()
        assert entry.actor == ACTOR and entry.subjects[0]["kind"] == "agency_record"
        assert one.agency and one.kind.startswith("police")
        assert_ledger_verifies(session)


def test_police_extract_again_changes_nothing_and_a_copy_is_all_duplicates(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    first = ingest_file(sessions, "police", world / "police.csv", actor=ACTOR)
    with sessions() as session:
        before = (tree_size(session), count(session, AgencyRecord), count(session, QuarantinedRow))
    again = ingest_file(sessions, "police", world / "police.csv", actor=ACTOR)
    assert again.already_received and again.id == first.id
    with sessions() as session:
        assert (
            tree_size(session),
            count(session, AgencyRecord),
            count(session, QuarantinedRow),
        ) == before
    # The same rows in another file (one more line at the end): held rows are duplicates.
    copy = tmp_path / "police-again.csv"
    shutil.copyfile(world / "police.csv", copy)
    with copy.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    other = ingest_file(sessions, "police", copy, actor=ACTOR)
    assert not other.already_received and other.id != first.id
    assert other.accepted == 0 and other.duplicate == first.accepted + first.duplicate
    assert other.rejected == first.rejected  # quarantined again, against this file


def test_an_interrupted_police_run_resumes_to_the_same_end_as_a_clean_one(
    engine: Engine, world: Path, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    path = world / "police.csv"
    with pytest.raises(Stop):
        ingest_file(sessions, "police", path, actor=ACTOR, chunk_size=10, progress=stop_after(4))
    resumed = ingest_file(sessions, "police", path, actor=ACTOR, chunk_size=10)
    assert resumed.resumed
    with sessions() as session:
        interrupted = snapshot(session)
    clean_engine = _fresh_sqlite(tmp_path / "clean.sqlite3")
    clean_sessions = session_factory(clean_engine)
    ingest_file(clean_sessions, "police", path, actor=ACTOR, chunk_size=10)
    with clean_sessions() as session:
        assert snapshot(session) == interrupted
    clean_engine.dispose()


def test_a_corrected_police_row_becomes_a_record(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    lines = (world / "police.csv").read_text(encoding="utf-8").splitlines()
    header, good = lines[0], lines[1]
    broken = tmp_path / "broken.csv"
    columns = header.split(",")
    dob = columns.index("DOB")
    # A row whose date of birth is not a date: the good row with that one cell spoilt.
    import csv
    import io

    cells = next(csv.reader(io.StringIO(good)))
    right = cells[dob]
    cells[dob] = "31/02/1990"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    broken.write_text(header + "\n" + out.getvalue(), encoding="utf-8")
    summary = ingest_file(sessions, "police", broken, actor=ACTOR)
    assert summary.rejected == 1
    with sessions() as session:
        row = session.scalars(select(QuarantinedRow)).one()
        assert any(p["field"] and "DOB" in str(p["field"]) for p in row.problems) or any(
            "date" in p["problem"].lower() for p in row.problems
        )
        done = resubmit(session, row.id, {"DOB": right}, actor=ACTOR)
        session.commit()
        assert done.status == RESUBMITTED
        record = session.get(AgencyRecord, done.record_id)
        assert record is not None and record.file_id == summary.id
        assert entries(session, RECORD_RECEIVED) == 1
        assert_ledger_verifies(session)


def test_an_organisation_sends_only_its_own_rows(
    sessions: sessionmaker[Session], world: Path, tmp_path: Path
) -> None:
    import csv

    with (world / "police.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[:5]
    force = rows[0].index("FORCE")
    for row in rows[1:]:
        row[force] = "01"
    rows[3][force] = "04"
    path = tmp_path / "pol01.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    summary = ingest_file(sessions, "police", path, actor="user:1", actor_org="POL01")
    assert summary.accepted + summary.rejected == 4 and summary.rejected >= 1
    with sessions() as session:
        row = session.scalars(select(QuarantinedRow).where(QuarantinedRow.line == 4)).one()
        assert row.problems[0]["field"] == "FORCE" and "POL04" in row.problems[0]["problem"]
        # Still another force's: stays open; corrected to this force's: accepted.
        assert resubmit(session, row.id, {}, actor="user:1", actor_org="POL01").status == OPEN
        done = resubmit(session, row.id, {"FORCE": "01"}, actor="user:1", actor_org="POL01")
        session.commit()
        assert done.status == RESUBMITTED
        record = session.get(AgencyRecord, done.record_id)
        assert record is not None and record.agency == "POL01"
