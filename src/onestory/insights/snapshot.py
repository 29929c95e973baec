"""Snapshots of the store as Parquet files: what every measure is computed from.

A snapshot is a folder holding one Parquet file per table below and ``manifest.json``, which
says when it was taken, how many rows each file holds, and the ledger's size, root hash and
newest signed checkpoint at that moment, so anyone can tell which data a figure came from.
The store is read in one transaction, in chunks (``CHUNK`` rows), and written as it is read, so a
snapshot of ten million events never holds them all in memory.

Files and their columns (the documented schema the measures are written against; times are UTC
timestamps, JSON documents are strings DuckDB's ``json_extract*`` functions read):

- ``events``: ``id, type, version, occurred_at, asserted_by, received_at, case_urn`` (the first
  ``URN`` case reference, or null), ``envelope`` (the whole common-model event as JSON).
- ``event_person_refs``: ``event_id, id_type, value`` (identifiers of the person an event is
  about).
- ``agency_records``: ``id, agency, layout, kind, received_at, person_id`` (the person index's
  person, or null), ``has_pnc, has_cro, has_prison_number, has_crn, has_uln, has_nino,
  has_date_of_birth, has_postcode`` (booleans: identifier completeness, never the values),
  ``body`` (the record in the common model as JSON).
- ``quarantined_rows``: ``id, agency, layout, status, created_at, problems`` (JSON list of
  ``{"field", "problem", "fix"}``).
- ``organisations``: ``code, name, kind, police_area``.
- ``duty_clocks``: the Tell-us-once duty clocks (``rule_id, code_version, owner_kind,
  owner_code, enhanced, started_at, due_at, met_at``).
- ``passport_credentials``: ``id, record_id, level, awarded_on, issued_at, revoked_at``.
- ``duties``: the Victims' Code duties owed to victims in the common-model events, derived by
  ``insights.duties`` (one row per victim, duty and triggering event).

No names, dates of birth, addresses or identifiers are copied out as columns; the JSON bodies do
hold them, which is why snapshots stay in the data directory, readable only by the operator, and
only aggregated, disclosure-controlled figures are ever published.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from onestory.exchange.tables import (
    AgencyRecord,
    EventPersonRef,
    IngestFile,
    QuarantinedRow,
    StoredEvent,
)
from onestory.ledger.checkpoints import latest_checkpoint
from onestory.ledger.log import root_hash, tree_size
from onestory.linkage.tables import PersonMember
from onestory.passport.tables import PassportCredential
from onestory.sharing.tables import Organisation
from onestory.store.base import utcnow
from onestory.victims.tables import DutyClock

CHUNK = 50_000
MANIFEST = "manifest.json"
TIMESTAMP = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "events": pa.schema(
        [
            ("id", pa.string()),
            ("type", pa.string()),
            ("version", pa.int32()),
            ("occurred_at", TIMESTAMP),
            ("asserted_by", pa.string()),
            ("received_at", TIMESTAMP),
            ("case_urn", pa.string()),
            ("envelope", pa.string()),
        ]
    ),
    "event_person_refs": pa.schema(
        [("event_id", pa.string()), ("id_type", pa.string()), ("value", pa.string())]
    ),
    "agency_records": pa.schema(
        [
            ("id", pa.string()),
            ("agency", pa.string()),
            ("layout", pa.string()),
            ("kind", pa.string()),
            ("received_at", TIMESTAMP),
            ("person_id", pa.string()),
            ("has_pnc", pa.bool_()),
            ("has_cro", pa.bool_()),
            ("has_prison_number", pa.bool_()),
            ("has_crn", pa.bool_()),
            ("has_uln", pa.bool_()),
            ("has_nino", pa.bool_()),
            ("has_date_of_birth", pa.bool_()),
            ("has_postcode", pa.bool_()),
            ("body", pa.string()),
        ]
    ),
    "quarantined_rows": pa.schema(
        [
            ("id", pa.int64()),
            ("agency", pa.string()),
            ("layout", pa.string()),
            ("status", pa.string()),
            ("created_at", TIMESTAMP),
            ("problems", pa.string()),
        ]
    ),
    "organisations": pa.schema(
        [
            ("code", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("police_area", pa.string()),
        ]
    ),
    "duty_clocks": pa.schema(
        [
            ("rule_id", pa.string()),
            ("code_version", pa.string()),
            ("owner_kind", pa.string()),
            ("owner_code", pa.string()),
            ("enhanced", pa.bool_()),
            ("started_at", TIMESTAMP),
            ("due_at", TIMESTAMP),
            ("met_at", TIMESTAMP),
        ]
    ),
    "passport_credentials": pa.schema(
        [
            ("id", pa.string()),
            ("record_id", pa.string()),
            ("level", pa.string()),
            ("awarded_on", pa.date32()),
            ("issued_at", TIMESTAMP),
            ("revoked_at", TIMESTAMP),
        ]
    ),
}


class SnapshotError(Exception):
    """A snapshot that cannot be written or read; the message says which file and why."""


@dataclass
class Snapshot:
    """A snapshot folder and its manifest."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    def file(self, table: str) -> Path:
        return self.path / f"{table}.parquet"

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        """A snapshot written earlier, refusing a folder without a readable manifest."""
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{path} is not a snapshot: {MANIFEST} unreadable ({exc})") from exc
        snapshot = cls(path, manifest)
        missing = [t for t in manifest.get("tables", {}) if not snapshot.file(t).exists()]
        if missing:
            raise SnapshotError(f"{path} is missing {', '.join(sorted(missing))}.parquet")
        return snapshot

    @property
    def tables(self) -> list[str]:
        return sorted(self.manifest.get("tables", {}))


def _urn(envelope: dict[str, Any]) -> str | None:
    for reference in envelope.get("caseReferences") or ():
        if isinstance(reference, dict) and reference.get("type") == "URN":
            value = reference.get("value")
            return str(value) if value is not None else None
    return None


def _stream(session: Session, query: Any) -> Iterator[Any]:
    """Rows of ``query`` (a select), fetched ``CHUNK`` at a time."""
    yield from session.execute(query.execution_options(yield_per=CHUNK))


Rows = Callable[[Session], Iterable[dict[str, Any]]]


def _events(session: Session) -> Iterable[dict[str, Any]]:
    query = select(StoredEvent).order_by(StoredEvent.occurred_at, StoredEvent.id)
    for (event,) in _stream(session, query):
        yield {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "occurred_at": event.occurred_at,
            "asserted_by": event.asserted_by,
            "received_at": event.received_at,
            "case_urn": _urn(event.envelope),
            "envelope": json.dumps(event.envelope, ensure_ascii=False, separators=(",", ":")),
        }


def _event_person_refs(session: Session) -> Iterable[dict[str, Any]]:
    query = select(EventPersonRef.event_id, EventPersonRef.id_type, EventPersonRef.value)
    for event_id, id_type, value in _stream(session, query.order_by(EventPersonRef.id)):
        yield {"event_id": event_id, "id_type": id_type, "value": value}


def _agency_records(session: Session) -> Iterable[dict[str, Any]]:
    query = (
        select(AgencyRecord, PersonMember.person_id)
        .outerjoin(PersonMember, PersonMember.record_id == AgencyRecord.id)
        .order_by(AgencyRecord.received_at, AgencyRecord.id)
    )
    for record, person_id in _stream(session, query):
        yield {
            "id": record.id,
            "agency": record.agency,
            "layout": record.layout,
            "kind": record.kind,
            "received_at": record.received_at,
            "person_id": person_id,
            "has_pnc": record.pnc_id is not None,
            "has_cro": record.cro_number is not None,
            "has_prison_number": record.prison_number is not None,
            "has_crn": record.probation_crn is not None,
            "has_uln": record.uln is not None,
            "has_nino": record.ni_number is not None,
            "has_date_of_birth": record.date_of_birth is not None,
            "has_postcode": record.postcode is not None,
            "body": json.dumps(record.body, ensure_ascii=False, separators=(",", ":"), default=str),
        }


def _quarantined_rows(session: Session) -> Iterable[dict[str, Any]]:
    query = (
        select(QuarantinedRow, IngestFile.agency)
        .join(IngestFile, IngestFile.id == QuarantinedRow.file_id)
        .order_by(QuarantinedRow.id)
    )
    for row, agency in _stream(session, query):
        yield {
            "id": row.id,
            "agency": agency,
            "layout": row.layout,
            "status": row.status,
            "created_at": row.created_at,
            "problems": json.dumps(row.problems, ensure_ascii=False, separators=(",", ":")),
        }


def _organisations(session: Session) -> Iterable[dict[str, Any]]:
    for (org,) in _stream(session, select(Organisation).order_by(Organisation.code)):
        yield {"code": org.code, "name": org.name, "kind": org.kind, "police_area": org.police_area}


def _duty_clocks(session: Session) -> Iterable[dict[str, Any]]:
    for (clock,) in _stream(session, select(DutyClock).order_by(DutyClock.id)):
        yield {
            "rule_id": clock.rule_id,
            "code_version": clock.code_version,
            "owner_kind": clock.owner_kind,
            "owner_code": clock.owner_code,
            "enhanced": clock.enhanced,
            "started_at": clock.started_at,
            "due_at": clock.due_at,
            "met_at": clock.met_at,
        }


def _passport_credentials(session: Session) -> Iterable[dict[str, Any]]:
    query = select(PassportCredential).order_by(PassportCredential.id)
    for (credential,) in _stream(session, query):
        yield {
            "id": credential.id,
            "record_id": credential.record_id,
            "level": credential.level,
            "awarded_on": credential.awarded_on,
            "issued_at": credential.issued_at,
            "revoked_at": credential.revoked_at,
        }


# The table each copied file is read from (for counting what a snapshot would hold).
SOURCES: dict[str, Any] = {
    "events": StoredEvent,
    "event_person_refs": EventPersonRef,
    "agency_records": AgencyRecord,
    "quarantined_rows": QuarantinedRow,
    "organisations": Organisation,
    "duty_clocks": DutyClock,
    "passport_credentials": PassportCredential,
}


def source_counts(session: Session) -> dict[str, int]:
    """The rows a snapshot taken now would copy, per file: whether anything changed since one."""
    return {
        name: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in SOURCES.items()
    }


READERS: dict[str, Rows] = {
    "events": _events,
    "event_person_refs": _event_person_refs,
    "agency_records": _agency_records,
    "quarantined_rows": _quarantined_rows,
    "organisations": _organisations,
    "duty_clocks": _duty_clocks,
    "passport_credentials": _passport_credentials,
}


def write_table(
    path: Path,
    schema: pa.Schema,
    rows: Iterable[dict[str, Any]],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``rows`` to a Parquet file in row groups of ``CHUNK``; the number written."""
    written = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                written += len(batch)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch or written == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            written += len(batch)
            if progress is not None:
                progress(len(batch))
    return written


# Tables derived from the copied ones (``insights.duties``): name -> (schema, builder).
Derived = Callable[[Snapshot], tuple[pa.Schema, Iterable[dict[str, Any]]]]
_derived: dict[str, Derived] = {}


def derive(name: str) -> Callable[[Derived], Derived]:
    """Register a table computed from the snapshot's copied tables after they are written."""

    def register(builder: Derived) -> Derived:
        _derived[name] = builder
        return builder

    return register


def take_snapshot(
    session: Session,
    folder: Path,
    *,
    tables: Sequence[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Snapshot:
    """Copy the store into ``folder`` as Parquet, in one read transaction, with its manifest.

    Written to a temporary folder beside ``folder`` and renamed into place at the end, so a
    snapshot that was interrupted is never mistaken for a whole one.
    """
    from onestory.insights import duties  # noqa: F401  (registers the derived tables)

    names = list(tables or READERS)
    unknown = [n for n in names if n not in READERS]
    if unknown:
        raise SnapshotError(f"no such table to snapshot: {', '.join(unknown)}")
    if folder.exists():
        raise SnapshotError(f"{folder} already exists; snapshots are never overwritten")
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        for leftover in partial.iterdir():
            leftover.unlink()
    partial.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial.chmod(0o700)  # whole records: the operator's alone
    # One consistent view of the store for every table and the ledger state alike.
    _begin_consistent_read(session)
    taken_at = utcnow()
    size = tree_size(session)
    checkpoint = latest_checkpoint(session)
    counts: dict[str, int] = {}
    for name in names:

        def step(n: int, name: str = name) -> None:
            if progress is not None:
                progress(name, n)

        counts[name] = write_table(
            partial / f"{name}.parquet", SCHEMAS[name], READERS[name](session), progress=step
        )
    snapshot = Snapshot(partial, {"taken_at": _iso(taken_at), "tables": dict(counts)})
    for name, builder in _derived.items():
        schema, rows = builder(snapshot)
        counts[name] = write_table(partial / f"{name}.parquet", schema, rows)
    manifest = {
        "taken_at": _iso(taken_at),
        "tables": counts,
        "ledger": {
            "size": size,
            "root_hash": root_hash(session, size).hex() if size else None,
            "checkpoint": (
                {"size": checkpoint.size, "note": checkpoint.note} if checkpoint else None
            ),
        },
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder)
    return Snapshot(folder, manifest)


def _begin_consistent_read(session: Session) -> None:
    """Start the snapshot's transaction so every read sees the same committed state.

    PostgreSQL's default isolation lets each statement see newer commits; REPEATABLE READ fixes
    the view at the first read. SQLite's driver does not begin a transaction for a SELECT, so one
    is begun explicitly (a read transaction holds its view until it ends).
    """
    if session.in_transaction():
        session.commit()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        session.execute(text("BEGIN"))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
