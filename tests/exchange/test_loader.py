"""The demo's plain loader, on SQLite and PostgreSQL, against a real synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.exchange.loader import (
    LoadError,
    count_event_lines,
    load_events,
    load_organisations,
)
from onestory.exchange.tables import EventPersonRef, StoredEvent
from onestory.sharing.tables import Organisation
from onestory.synth import write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, people=60, seed=7)
    return out


def test_load_is_complete_and_idempotent(session: Session, world: Path) -> None:
    organisations = json.loads((world / "organisations.json").read_text())
    assert load_organisations(session, world / "organisations.json") == len(organisations)
    session.commit()
    assert load_organisations(session, world / "organisations.json") == 0

    total = count_event_lines(world / "events.jsonl")
    seen: list[int] = []
    added, present = load_events(session, world / "events.jsonl", progress=seen.append)
    assert (added, present) == (total, 0)
    assert sum(seen) == total
    assert session.scalar(select(func.count()).select_from(StoredEvent)) == total
    assert session.scalar(select(func.count()).select_from(Organisation)) == len(organisations)
    assert session.scalar(select(func.count()).select_from(EventPersonRef)) > 0

    assert load_events(session, world / "events.jsonl") == (0, total)
    assert session.scalar(select(func.count()).select_from(StoredEvent)) == total


def test_an_invalid_event_stops_the_load_naming_file_and_line(
    session: Session, world: Path, tmp_path: Path
) -> None:
    lines = (world / "events.jsonl").read_text().splitlines()[:5]
    broken = json.loads(lines[2])
    broken["occurredAt"] = "2026-13-45T00:00:00+00:00"
    lines[2] = json.dumps(broken)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoadError, match=r"events\.jsonl:3: occurredAt"):
        load_events(session, path)
    # The batch with the bad line is rolled back whole: nothing half-loaded.
    assert session.scalar(select(func.count()).select_from(StoredEvent)) == 0


def test_a_line_that_is_not_json_is_named(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": 1}\n{not json\n')
    with pytest.raises(LoadError, match=r"events\.jsonl:2: not JSON"):
        load_events(session, path)
