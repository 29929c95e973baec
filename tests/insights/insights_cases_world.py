"""The shared insights world (``conftest.insights_world``) with its ground truth read back, for the
case, learning and data-quality measures' tests; and a copy of a world's database with skills
passports issued, which the learning measure needs and the shared world does not have.

Every figure the tests expect is computed here and in the tests from the world's own files
(``truth_cases.csv``, ``ground_truth.csv``, ``events.jsonl``...), in plain Python.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from insights_world import InsightsWorld

from onestory.insights.engine import all_measures, compute, connect
from onestory.insights.snapshot import Snapshot, take_snapshot
from onestory.passport.credentials import issue_pending
from onestory.passport.issuer import load_issuer
from onestory.store import create_engine_for, session_factory

BASE_URL = "https://insights.test"


@dataclass
class World:
    """The world's folder (its files and ground truth) and the snapshot of the store."""

    folder: Path
    snapshot: Snapshot
    _results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def measure(self, measure_id: str) -> list[dict[str, Any]]:
        """The measure's rows over the snapshot, as dicts."""
        if measure_id not in self._results:
            con = connect(self.snapshot)
            try:
                table = compute(all_measures()[measure_id], con)
            finally:
                con.close()
            self._results[measure_id] = table.to_pylist()
        return self._results[measure_id]

    def csv(self, name: str) -> list[dict[str, str]]:
        with (self.folder / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    @cached_property
    def until(self) -> date:
        manifest = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        return date.fromisoformat(manifest["until"])

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """The world's events file, one envelope a line, in order (line 1 first)."""
        with (self.folder / "events.jsonl").open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    @cached_property
    def event_truth(self) -> list[tuple[str, str]]:
        """(true person id, case id) of each line of the events file, from ground_truth.csv."""
        by_line = {
            int(row["record_key"]): (row["person_id"], row["case_id"])
            for row in self.csv("ground_truth.csv")
            if row["file"] == "events.jsonl"
        }
        return [by_line.get(n + 1, ("", "")) for n in range(len(self.events))]

    @cached_property
    def as_at(self) -> date:
        """The day of the newest event (UTC), which the measures take as the data's as-at day."""
        newest = max(datetime.fromisoformat(e["occurredAt"]) for e in self.events)
        return newest.astimezone(UTC).date()

    @cached_property
    def force_names(self) -> dict[str, str]:
        """Police force names by their two-digit force code, from organisations.json."""
        organisations = json.loads((self.folder / "organisations.json").read_text("utf-8"))
        return {
            str(o["forceCode"]): str(o["name"]) for o in organisations if o.get("kind") == "police"
        }


def truth_of(shared: InsightsWorld) -> World:
    """The shared world's snapshot with its files as ground truth."""
    return World(shared.world, shared.snapshot)


def with_passports(shared: InsightsWorld, base: Path) -> World:
    """A copy of ``shared``'s database (left untouched) with every due skills passport credential
    issued, snapshotted: the passports are what the learning measure counts as a qualification."""
    base.mkdir(parents=True, exist_ok=True)
    copy = base / "onestory.sqlite3"
    source = sqlite3.connect(shared.data_dir / "onestory.sqlite3")
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    engine = create_engine_for(f"sqlite:///{copy}")
    try:
        with session_factory(engine)() as session:
            issue_pending(
                session, load_issuer(base, BASE_URL), actor="system:test", base_url=BASE_URL
            )
            session.commit()
        with session_factory(engine)() as session:
            snapshot = take_snapshot(session, base / "snapshot")
    finally:
        engine.dispose()
    return World(shared.world, snapshot)


def percentile(values: list[float], share: float) -> float:
    """The linearly interpolated percentile (R type 7, as most statistics packages give)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
