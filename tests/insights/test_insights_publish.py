"""``publish_release`` writes what it says: CSV and Parquet per public measure (suppression
applied, formulas defused), CSVW metadata describing every column, ``release.json`` naming the
ledger checkpoint, and the unsuppressed results kept apart; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.progress import Progress
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from onestory.demo import ingest_world
from onestory.exchange.loader import load_organisations
from onestory.insights.engine import Measure
from onestory.insights.publish import (
    CSVW_FILE,
    RELEASE_FILE,
    Release,
    csv_text,
    latest_release,
    list_releases,
    publish_release,
)
from onestory.insights.sdc import SUPPRESSED, TOTAL_OVER
from onestory.ledger.checkpoints import cut_checkpoint, load_or_create_signer
from onestory.store import create_engine_for, session_factory
from onestory.store.migrate import upgrade
from onestory.synth import write_world

PEOPLE = 200
SEED = 5


@dataclass(frozen=True)
class InlineMeasure(Measure):
    """A measure whose SQL is given here rather than read from ``insights/sql``."""

    query: str = ""

    @property
    def sql(self) -> str:
        return self.query


EVENTS_BY_TYPE = InlineMeasure(
    id="test_events_by_type_and_month",
    title="Events by type and month",
    definition="Events held, by event type and the month they happened in.",
    dimensions=("type", "month"),
    counts=("events",),
    columns={"type": "Event type", "month": "Month (YYYY-MM)", "events": "Events"},
    query="""
        SELECT type, strftime(date_trunc('month', occurred_at), '%Y-%m') AS month,
               count(*) AS events
        FROM events GROUP BY ALL ORDER BY type, month
    """,
)
VERSIONS = InlineMeasure(
    id="test_versions",
    title="Event versions",
    definition="Events by type, with their median schema version.",
    dimensions=("type",),
    counts=("events",),
    statistics=("median_version",),
    basis="events",
    columns={"type": "Type", "events": "Events", "median_version": "Median version"},
    query="""
        SELECT type, count(*) AS events, median(version)::DOUBLE AS median_version
        FROM events GROUP BY ALL ORDER BY type
    """,
)
FORMULA = InlineMeasure(
    id="test_formula",
    title="A label that looks like a formula",
    definition="All events, under a label a spreadsheet would run as a formula.",
    dimensions=("label",),
    counts=("events",),
    columns={"label": "Label", "events": "Events"},
    query="SELECT '=HYPERLINK(\"http://x\")' AS label, count(*) AS events FROM events",
)
PRIVATE = InlineMeasure(
    id="test_private",
    title="Internal only",
    definition="Events by who asserted them, for analysts.",
    dimensions=("asserted_by",),
    counts=("events",),
    columns={"asserted_by": "Organisation", "events": "Events"},
    public=False,
    query="SELECT asserted_by, count(*) AS events FROM events GROUP BY ALL ORDER BY 1",
)
TEST_MEASURES = {m.id: m for m in (EVENTS_BY_TYPE, VERSIONS, FORMULA, PRIVATE)}


def load_world(engine: Engine, data_dir: Path) -> Path:
    """A small synthetic world ingested into ``engine``'s database, with a signed checkpoint."""
    world = data_dir / "world"
    write_world(world, people=PEOPLE, seed=SEED)
    sessions = session_factory(engine)
    with sessions() as session:
        load_organisations(session, world / "organisations.json")
        session.commit()
    ingest_world(sessions, world, actor="system:test", bar=lambda: Progress(disable=True))
    with sessions() as session:
        cut_checkpoint(session, load_or_create_signer(data_dir, "onestory.test/ledger"))
        session.commit()
    return world


def release_from_world(tmp_path: Path) -> tuple[Release, Path]:
    """A release of every registered measure from a small world in a migrated SQLite database."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'onestory.sqlite3'}")
    upgrade(engine)
    world = load_world(engine, tmp_path)
    with session_factory(engine)() as session:
        release = publish_release(session, tmp_path)
    engine.dispose()
    return release, world


def world_event_types(world: Path) -> Counter[str]:
    """Events per type, read straight from the world's events file."""
    with (world / "events.jsonl").open(encoding="utf-8") as handle:
        return Counter(json.loads(line)["eventType"] for line in handle if line.strip())


def test_a_release_holds_protected_files_metadata_and_the_checkpoint(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    world = load_world(engine, tmp_path)
    steps: list[str] = []
    release = publish_release(
        session, tmp_path, threshold=5, measures=TEST_MEASURES, progress=steps.append
    )
    assert release.path == tmp_path / "insights" / "releases" / release.id
    assert "measure: test_events_by_type_and_month" in steps and steps[-1] == "files written"

    manifest = json.loads((release.path / RELEASE_FILE).read_text(encoding="utf-8"))
    # The snapshot (whole records) is gone once computed from; its manifest is the operator's.
    assert not (tmp_path / "insights" / "snapshots" / release.id).exists()
    internal = release.path / "internal" / "snapshot.json"
    assert oct(internal.stat().st_mode & 0o777) == "0o600"
    snapshot_manifest = json.loads(internal.read_text())
    assert "tables" not in manifest["snapshot"]
    checkpoint = snapshot_manifest["ledger"]["checkpoint"]
    assert checkpoint and checkpoint["size"] > 0
    assert manifest["ledger_checkpoint"] == checkpoint
    assert manifest["snapshot"]["ledger"] == snapshot_manifest["ledger"]
    assert manifest["threshold"] == 5 and manifest["rounding"] == 0
    published = {m["id"]: m for m in manifest["measures"]}
    assert set(published) == {"test_events_by_type_and_month", "test_versions", "test_formula"}

    # The counts are the world's: events per type, from its events file, against the totals.
    by_type = Counter[str]()
    internal = release.internal_table("test_events_by_type_and_month").to_pylist()
    for row in internal:
        by_type[row["type"]] += row["events"]
    assert by_type == world_event_types(world)

    for measure_id, entry in published.items():
        measure = TEST_MEASURES[measure_id]
        parquet = pq.read_table(release.path / entry["files"]["parquet"])
        with (release.path / entry["files"]["csv"]).open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == parquet.num_rows == entry["rows"]
        assert list(rows[0]) == parquet.column_names
        # Every hidden count is empty in the CSV, null in Parquet and named in its row.
        hidden = 0
        for csv_row, row in zip(rows, parquet.to_pylist(), strict=True):
            for column in measure.counts:
                if row[column] is None:
                    hidden += 1
                    assert csv_row[column] == ""
                    assert column in row[SUPPRESSED].split(",")
                else:
                    assert int(csv_row[column]) == row[column]
                    # What is shown is never a count under the threshold.
                    assert row[column] == 0 or row[column] >= 5
        assert hidden == entry["suppressed_cells"]
        # The measure's own rows, where shown, are the unsuppressed figures.
        truth = release.internal_table(measure_id).to_pylist()
        for row, true_row in zip(parquet.to_pylist(), truth, strict=False):
            assert row[TOTAL_OVER] == ""
            for column in measure.counts:
                assert row[column] in (None, true_row[column])

    statistics = release.table("test_versions", totals=False).to_pylist()
    small = [r for r in statistics if r["events"] is None or r["events"] < 5]
    assert all(r["median_version"] is None for r in small if "median_version" in r[SUPPRESSED])

    with (release.path / "test_formula.csv").open(encoding="utf-8") as f:
        assert "'=HYPERLINK" in f.read()

    # The private measure is kept for analysts only.
    assert (release.path / "internal" / "test_private.parquet").exists()
    assert not (release.path / "test_private.csv").exists()
    assert "test_private" not in json.dumps(
        json.loads((release.path / CSVW_FILE).read_text())["tables"]
    )


def test_the_csvw_metadata_describes_every_column_of_every_csv(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    load_world(engine, tmp_path)
    release = publish_release(session, tmp_path, measures=TEST_MEASURES)
    metadata = json.loads((release.path / CSVW_FILE).read_text(encoding="utf-8"))
    assert "http://www.w3.org/ns/csvw" in metadata["@context"]
    tables = {t["url"]: t for t in metadata["tables"]}
    assert set(tables) == {f"{m}.csv" for m in release.measure_ids}
    for url, table in tables.items():
        measure = TEST_MEASURES[table["dc:identifier"]]
        assert table["dc:description"] == measure.definition
        with (release.path / url).open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        columns = table["tableSchema"]["columns"]
        assert [c["name"] for c in columns] == header
        for column in columns:
            assert column["titles"] == column["name"] and column["dc:description"]
            if column["name"] in measure.columns:
                assert column["dc:description"] == measure.columns[column["name"]]
        types = {c["name"]: c["datatype"] for c in columns}
        assert {types[c] for c in measure.counts} == {"integer"}
        assert types[SUPPRESSED] == "string"


def test_releases_are_listed_newest_last_and_never_overwrite_each_other(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    assert latest_release(tmp_path) is None
    load_world(engine, tmp_path)
    first = publish_release(session, tmp_path, measures=TEST_MEASURES)
    second = publish_release(session, tmp_path, measures=TEST_MEASURES, rounding=10)
    assert first.id != second.id
    assert [r.id for r in list_releases(tmp_path)] == [first.id, second.id]
    latest = latest_release(tmp_path)
    assert latest is not None and latest.id == second.id
    shown = [v for v in latest.table("test_events_by_type_and_month").column("events").to_pylist()]
    assert all(v is None or v % 10 == 0 for v in shown)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("=1+2", "'=1+2"),
        ("+44 20", "'+44 20"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Wessex", "Wessex"),
        (-3, "-3"),
        (None, ""),
        (2.5, "2.5"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(value: object, text: str) -> None:
    assert csv_text(value) == text
