"""Releases: every public measure, disclosure-controlled, as files anyone can open.

``publish_release`` takes a snapshot of the store, computes every measure from it, protects the
public ones (``insights.sdc``) and writes one folder, ``DATA_DIR/insights/releases/<id>/``, the
id being the UTC time it was made (``2026-11-30T011500Z``):

- ``<measure>.csv`` (UTF-8, a header row, suppressed cells empty) and ``<measure>.parquet``: the
  published table, margins included (``total_over`` marks them);
- ``csv-metadata.json``: CSV on the Web (CSVW) metadata, one table per CSV, describing each
  column and the measure's definition, so a CSVW tool reads the files without guessing;
- ``release.json``: when and how the release was made (threshold, rounding, the audit that
  checked the suppression), the snapshot's manifest with the ledger checkpoint the figures were
  computed from, and per measure its definition, files, rows and suppressed cells;
- ``internal/<measure>.parquet``: the unsuppressed results, for authorised analysts only. Never
  linked from public pages; they stay in the data directory with the snapshot.

The release is written to ``<id>.partial`` and renamed into place when whole, so a reader never
sees half a release; a folder's presence means it is complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from onestory.insights import sdc
from onestory.insights.engine import Measure, all_measures, compute, connect
from onestory.insights.snapshot import READERS, Snapshot, take_snapshot
from onestory.store.base import utcnow

RELEASES = Path("insights", "releases")
SNAPSHOTS = Path("insights", "snapshots")
RELEASE_FILE = "release.json"
CSVW_FILE = "csv-metadata.json"
INTERNAL = "internal"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OWN_COLUMNS = {
    sdc.TOTAL_OVER: (
        "Empty for the measure's own rows. On a total row, the dimensions it adds up over "
        "(comma-separated); those dimensions are empty on that row."
    ),
    sdc.SUPPRESSED: (
        "The columns left empty in this row to protect people's privacy (comma-separated): "
        "counts under the release's threshold, counts hidden so they cannot be worked out from "
        "the totals, and statistics of groups under the threshold."
    ),
}


class ReleaseError(Exception):
    """A release that cannot be written or read; the message says which and why."""


Progress = Callable[[str], None]


@dataclass(frozen=True)
class Release:
    """A release folder and its ``release.json``."""

    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["id"])

    @classmethod
    def open(cls, path: Path) -> Release:
        """A release written earlier, refusing a folder without a readable ``release.json``."""
        try:
            manifest = json.loads((path / RELEASE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReleaseError(
                f"{path} is not a release: {RELEASE_FILE} unreadable ({exc})"
            ) from exc
        return cls(path, manifest)

    @property
    def measure_ids(self) -> list[str]:
        """The public measures in this release, in the order they were published."""
        return [m["id"] for m in self.manifest.get("measures", [])]

    def measure(self, measure_id: str) -> dict[str, Any]:
        """What ``release.json`` says about one measure."""
        for entry in self.manifest.get("measures", []):
            if entry["id"] == measure_id:
                return dict(entry)
        raise ReleaseError(f"release {self.id} has no measure {measure_id}")

    def table(self, measure_id: str, *, totals: bool = True) -> pa.Table:
        """A measure's published table (suppressed cells null); ``totals=False`` drops margins."""
        self.measure(measure_id)
        table = pq.read_table(self.path / f"{measure_id}.parquet")
        if totals:
            return table
        keep = [value == "" for value in table.column(sdc.TOTAL_OVER).to_pylist()]
        return table.filter(pa.array(keep, pa.bool_()))

    def internal_table(self, measure_id: str) -> pa.Table:
        """A measure's unsuppressed result: for authorised analysts, never for the public."""
        path = self.path / INTERNAL / f"{measure_id}.parquet"
        if not path.exists():
            raise ReleaseError(f"release {self.id} has no internal results for {measure_id}")
        return pq.read_table(path)


SOURCE_FILE = "snapshot.json"


def release_id(moment: datetime) -> str:
    """A release's id: its UTC time, to the second, safe in file names and URLs."""
    return moment.strftime("%Y-%m-%dT%H%M%SZ")


def _free_id(base: Path, wanted: str) -> str:
    """``wanted``, or ``wanted-2``, ``-3``... if a release or snapshot already has that id."""
    candidate, n = wanted, 1
    while (base / RELEASES / candidate).exists() or (base / SNAPSHOTS / candidate).exists():
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def publish_release(
    session: Session,
    data_dir: Path,
    *,
    threshold: int = sdc.DEFAULT_THRESHOLD,
    rounding: int = 0,
    suppress_zeros: bool = False,
    measures: Mapping[str, Measure] | None = None,
    progress: Progress | None = None,
) -> Release:
    """Snapshot the store, compute every measure, protect the public ones, write the release.

    ``progress`` is called with a short description after each step: one per snapshot table
    (``steps`` says how many steps there are in all), one per measure, and one for the files.
    """
    chosen = dict(all_measures() if measures is None else measures)
    created = utcnow()
    rid = _free_id(data_dir, release_id(created))
    snapshot = take_snapshot(
        session,
        data_dir / SNAPSHOTS / rid,
        progress=None if progress is None else _table_progress(progress),
    )
    try:
        results = _compute(snapshot, chosen, progress)
    finally:
        # The snapshot holds whole records (names, identifiers): it is kept no longer than it
        # takes to compute from it. Its manifest goes into release.json; the unsuppressed
        # results stay in internal/, readable by the operator only.
        shutil.rmtree(snapshot.path, ignore_errors=True)
    folder = data_dir / RELEASES / rid
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    (partial / INTERNAL).mkdir(parents=True, mode=0o700)
    entries = []
    csvw_tables = []
    audits: set[str] = set()
    for measure_id, measure in chosen.items():
        result = results[measure_id]
        internal = partial / INTERNAL / f"{measure_id}.parquet"
        pq.write_table(result, internal, compression="zstd")
        internal.chmod(0o600)
        if not measure.public:
            continue
        protected = sdc.protect(
            measure, result, threshold=threshold, rounding=rounding, suppress_zeros=suppress_zeros
        )
        audits.add(protected.audit)
        write_csv(protected.table, partial / f"{measure_id}.csv")
        pq.write_table(protected.table, partial / f"{measure_id}.parquet", compression="zstd")
        csvw_tables.append(_csvw_table(measure, protected.table))
        entries.append(
            {
                "id": measure_id,
                "title": measure.title,
                "definition": measure.definition,
                "dimensions": list(measure.dimensions),
                "counts": list(measure.counts),
                "statistics": list(measure.statistics),
                "basis": measure.basis,
                "notes": list(measure.notes),
                "files": {"csv": f"{measure_id}.csv", "parquet": f"{measure_id}.parquet"},
                "rows": protected.table.num_rows,
                "suppressed_cells": protected.suppressed_cells,
                "primary_suppressed_cells": protected.primary_cells,
            }
        )
    manifest = {
        "id": rid,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "threshold": threshold,
        "rounding": rounding,
        "suppress_zeros": suppress_zeros,
        "disclosure_control": {
            "audit": sorted(audits),
            "margins": "per value of each measure's first dimension, and the grand total",
        },
        "ledger_checkpoint": snapshot.manifest["ledger"]["checkpoint"],
        # The ledger state and when: which data the figures came from (not the row counts of the
        # store's tables, which are not disclosure-controlled).
        "snapshot": {k: v for k, v in snapshot.manifest.items() if k != "tables"},
        "measures": entries,
        "internal_measures": sorted(chosen),
    }
    csvw = {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "dc:title": f"OneStory insights release {rid}",
        "dc:created": manifest["created_at"],
        "dc:source": "the OneStory store, as of ledger checkpoint "
        + str((manifest["ledger_checkpoint"] or {}).get("size", "none")),
        "tables": csvw_tables,
    }
    # For the operator: the full snapshot manifest, row counts included (not published).
    source = partial / INTERNAL / SOURCE_FILE
    source.write_text(json.dumps(snapshot.manifest, indent=2) + "\n", encoding="utf-8")
    source.chmod(0o600)
    (partial / CSVW_FILE).write_text(json.dumps(csvw, indent=2) + "\n", encoding="utf-8")
    (partial / RELEASE_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder)
    if progress is not None:
        progress("files written")
    return Release(folder, manifest)


def steps(measures: Mapping[str, Measure] | None = None) -> int:
    """How many times ``publish_release`` calls its ``progress``."""
    return len(READERS) + len(all_measures() if measures is None else measures) + 1


def _table_progress(progress: Progress) -> Callable[[str, int], None]:
    done: set[str] = set()

    def step(table: str, _rows: int) -> None:
        # take_snapshot reports rows as they are written; one step per table is enough here.
        if table not in done:
            done.add(table)
            progress(f"snapshot: {table}")

    return step


def _compute(
    snapshot: Snapshot, measures: Mapping[str, Measure], progress: Progress | None
) -> dict[str, pa.Table]:
    con = connect(snapshot)
    try:
        results = {}
        for measure_id, measure in measures.items():
            results[measure_id] = compute(measure, con)
            if progress is not None:
                progress(f"measure: {measure_id}")
        return results
    finally:
        con.close()


def latest_release(data_dir: Path) -> Release | None:
    """The newest complete release in ``data_dir``, or None."""
    releases = list_releases(data_dir)
    return releases[-1] if releases else None


def list_releases(data_dir: Path) -> list[Release]:
    """Every complete release in ``data_dir``, oldest first."""
    base = data_dir / RELEASES
    if not base.is_dir():
        return []
    folders = [p for p in base.iterdir() if p.is_dir() and not p.name.endswith(".partial")]
    releases = [Release.open(p) for p in folders if (p / RELEASE_FILE).exists()]
    return sorted(releases, key=lambda r: (str(r.manifest.get("created_at")), r.id))


def csv_text(value: Any) -> str:
    """One cell as CSV text: empty for null, ISO 8601 for times, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    # A leading apostrophe makes a spreadsheet show the text rather than run it.
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(table: pa.Table, path: Path) -> None:
    """``table`` as a UTF-8 CSV with a header row (no byte-order mark; RFC 4180 quoting)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(table.column_names)
        for batch in table.to_batches():
            for row in batch.to_pylist():
                writer.writerow([csv_text(row[c]) for c in table.column_names])


def csvw_datatype(kind: pa.DataType) -> str:
    """The CSVW (XML Schema) datatype for an Arrow column."""
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_decimal(kind):
        return "decimal"
    if pa.types.is_timestamp(kind):
        return "dateTime"
    if pa.types.is_date(kind):
        return "date"
    return "string"


def _csvw_table(measure: Measure, table: pa.Table) -> dict[str, Any]:
    columns = []
    for column in table.schema:
        description = measure.columns.get(column.name) or OWN_COLUMNS[column.name]
        columns.append(
            {
                "name": column.name,
                "titles": column.name,
                "dc:description": description,
                "datatype": csvw_datatype(column.type),
            }
        )
    return {
        "url": f"{measure.id}.csv",
        "dc:identifier": measure.id,
        "dc:title": measure.title,
        "dc:description": measure.definition,
        "tableSchema": {"columns": columns},
    }
