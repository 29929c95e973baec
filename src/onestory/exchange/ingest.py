"""Agency files into the store: streamed in chunks, bad rows quarantined, nothing applied twice.

A file is known by its SHA-256 (with its layout): delivered again once complete, it changes
nothing; found still running (the last run was killed), the run resumes where the last
committed chunk ended. Each chunk is one transaction holding everything the chunk did -- the
new ``AgencyRecord`` rows, the ``QuarantinedRow`` rows, one ledger entry per accepted record
and the file's counters -- so a run killed at any instant leaves whole chunks or nothing, and
the file's counters always say exactly how far it got.

Rows are streamed (``mapping.read_rows``) and only one chunk is held at a time, so memory does
not grow with the file. A row is a duplicate when its record id (a hash of its content) is
already held, from this file or any other; a row that cannot be mapped is quarantined with
every problem found in it, and a person corrects and resubmits it (``resubmit``) or withdraws
it (``withdraw``).

Common-model events (synth's ``events.jsonl``, an agency system's batch) come in the same way,
as the pseudo-layout ``events``: each chunk goes through ``intake.receive_events``, which
validates, deduplicates by event id, ledgers and tells the subscribers (the victims' timeline).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestory.exchange import mapping
from onestory.exchange.intake import IntakeError, receive_event, receive_events
from onestory.exchange.mapping import Mapped, PersonColumns, Problem, Rejected, SourceRow
from onestory.exchange.tables import (
    COMPLETE,
    OPEN,
    RESUBMITTED,
    RUNNING,
    WITHDRAWN,
    AgencyRecord,
    IngestFile,
    QuarantinedRow,
)
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_at_commit, append_many, lock_for_append
from onestory.store.base import utcnow

# Common-model events are taken as if "events" were an agency with one layout of that name.
EVENTS = "events"
RECORD_RECEIVED = "exchange.record.received"
FILE_INGESTED = "exchange.file.ingested"
ROW_RESUBMITTED = "exchange.quarantine.resubmitted"
ROW_WITHDRAWN = "exchange.quarantine.withdrawn"
DEFAULT_CHUNK = 1000
HASH_BLOCK = 1 << 20

Sessions = Callable[[], Session]
# Told how many bytes of the file have been read since it was last told.
Progress = Callable[[int], None]


class IngestError(ValueError):
    """A file, row or request that cannot be taken as asked; the message says what and where."""


class IngestBusy(IngestError):
    """The same file is being taken in by another run at this moment."""


@dataclass(frozen=True)
class FileSummary:
    """What became of one file: its rows accepted, quarantined (rejected) and already held."""

    id: int
    agency: str
    layout: str
    name: str
    sha256: str
    size: int
    status: str
    rows: int
    accepted: int
    rejected: int
    duplicate: int
    started_at: datetime
    finished_at: datetime | None
    already_received: bool = False
    resumed: bool = False

    @classmethod
    def of(
        cls, row: IngestFile, *, already_received: bool = False, resumed: bool = False
    ) -> FileSummary:
        """The summary of a stored file."""
        return cls(
            id=row.id,
            agency=row.agency,
            layout=row.layout,
            name=row.name,
            sha256=row.sha256,
            size=row.size,
            status=row.status,
            rows=row.rows_seen,
            accepted=row.accepted,
            rejected=row.rejected,
            duplicate=row.duplicate,
            started_at=row.started_at,
            finished_at=row.finished_at,
            already_received=already_received,
            resumed=resumed,
        )

    def as_json(self) -> dict[str, Any]:
        """The summary as the API answers it."""
        return {
            "id": self.id,
            "agency": self.agency,
            "layout": self.layout,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "status": self.status,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicate": self.duplicate,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "alreadyReceived": self.already_received,
            "resumed": self.resumed,
            "quarantine": f"/api/quarantine?file={self.id}",
        }


def file_sha256(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size, read in blocks so any size fits in memory."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def resolve_layout(agency: str, path: Path, name: str | None = None) -> mapping.Layout | None:
    """The layout ``path`` is in (None for common-model events); ``IngestError`` otherwise."""
    if agency == EVENTS:
        if name not in (None, EVENTS):
            raise IngestError(f"events files have one layout, {EVENTS!r}, not {name!r}")
        return None
    try:
        if name is None:
            return mapping.detect_layout(agency, path)
        layouts = {layout.name: layout for layout in mapping.layouts_for(agency)}
    except mapping.MappingError as exc:
        raise IngestError(f"{path}: {exc}") from exc
    if name not in layouts:
        known = ", ".join(sorted(layouts)) or "none"
        raise IngestError(f"{agency} has no layout {name!r}; its layouts are: {known}")
    return layouts[name]


def layout_name(layout: mapping.Layout | None) -> str:
    """The stored name of a layout (``events`` for common-model events)."""
    return EVENTS if layout is None else str(layout.name)


def ingest_file(
    sessions: Sessions,
    agency: str,
    path: Path,
    *,
    actor: str,
    actor_org: str | None = None,
    layout: str | None = None,
    name: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> FileSummary:
    """Take one file from ``agency`` (an agency kind, or ``events``) and say what became of it.

    ``actor`` is who delivered it (``user:7``, ``client:1a2b3c4d``, ``cli:alice``). An
    organisation sends only its own records: with ``actor_org`` (the organisation staff or a
    system act for), a row that says another organisation holds it, or an event another
    organisation asserts, is quarantined. ``name`` is what the file was called when delivered
    (an upload's temporary file has another).
    """
    if chunk_size < 1:
        raise IngestError(f"the chunk size must be at least 1, not {chunk_size}")
    chosen = resolve_layout(agency, path, layout)
    stored_layout = layout_name(chosen)
    sha256, size = file_sha256(path)
    file, state = _open_file(
        sessions,
        agency=agency,
        layout=stored_layout,
        name=name or path.name,
        sha256=sha256,
        size=size,
        actor=actor,
        organisation=actor_org or "",
    )
    if state == "complete":
        if progress:
            progress(size)
        return FileSummary.of(file, already_received=True)
    rows = _read_events(path) if chosen is None else mapping.read_rows(chosen, path)
    done = file.rows_seen
    told = 0
    if done:
        # Rows come out of the same bytes in the same order, so the first rows_seen are exactly
        # the ones the committed chunks held.
        skipped = islice(rows, done)
        told = sum(_row_bytes(row) for row in skipped)
        if progress:
            progress(told)
    for chunk in _chunks(rows, chunk_size):
        with sessions() as session:
            if chosen is None:
                counts = _store_events(session, file.id, chunk, actor=actor, actor_org=actor_org)
            else:
                counts = _store_records(
                    session, file, chosen, chunk, actor=actor, actor_org=actor_org
                )
            _advance(session, file.id, expected=done, chunk=chunk, counts=counts)
            session.commit()
        done += len(chunk)
        if progress:
            read = sum(_row_bytes(row) for row in chunk)
            told += read
            progress(read)
    with sessions() as session:
        finished = _finish(session, file.id, actor=actor)
        session.commit()
    if progress and told < size:
        progress(size - told)
    return FileSummary.of(finished, resumed=state == "running")


def _open_file(
    sessions: Sessions,
    *,
    agency: str,
    layout: str,
    name: str,
    sha256: str,
    size: int,
    actor: str,
    organisation: str,
) -> tuple[IngestFile, str]:
    """The file's row and whether it is new, running (to resume) or complete."""
    found = select(IngestFile).where(
        IngestFile.organisation == organisation,
        IngestFile.layout == layout,
        IngestFile.sha256 == sha256,
    )
    with sessions() as session:
        held = session.scalar(found)
        if held is not None:
            return held, "complete" if held.status == COMPLETE else "running"
        row = IngestFile(
            agency=agency,
            organisation=organisation,
            layout=layout,
            name=name[:255],
            sha256=sha256,
            size=size,
            status=RUNNING,
            actor=actor,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Another run registered the same bytes a moment ago: carry on with its row.
            session.rollback()
            held = session.scalar(found)
            if held is None:
                raise
            return held, "complete" if held.status == COMPLETE else "running"
        return row, "new"


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _row_bytes(row: SourceRow) -> int:
    # An estimate for the progress bar (a CSV line's ending, a JSON element's separators).
    return len(row.raw.encode("utf-8", "replace")) + 1


@dataclass
class _Counts:
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0


def _store_records(
    session: Session,
    file: IngestFile,
    layout: mapping.Layout,
    chunk: Sequence[SourceRow],
    *,
    actor: str,
    actor_org: str | None,
) -> _Counts:
    """Map a chunk, then insert what is new and quarantine what is not right, in one go."""
    outcomes = [_owned(layout, _map(layout, row), actor_org) for row in chunk]
    # The ledger lock before the first read: the duplicate check and the inserts are then one
    # write transaction, on SQLite as on PostgreSQL.
    lock_for_append(session)
    mapped = [o for o in outcomes if isinstance(o, Mapped)]
    wanted = {m.id for m in mapped}
    held = (
        set(session.scalars(select(AgencyRecord.id).where(AgencyRecord.id.in_(wanted))))
        if wanted
        else set()
    )
    counts = _Counts()
    records: list[dict[str, Any]] = []
    entries: list[NewEntry] = []
    now = utcnow()
    for m in mapped:
        if m.id in held:
            counts.duplicate += 1
            continue
        held.add(m.id)
        records.append(_record_values(m, file=file, now=now))
        entries.append(_received_entry(m, file_id=file.id, actor=actor))
    if records:
        # render_nulls: rows missing different columns still go in one batched statement.
        session.execute(insert(AgencyRecord).execution_options(render_nulls=True), records)
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    counts.accepted = len(records)
    counts.rejected = len(rejected)
    _quarantine(
        session,
        file.id,
        file.layout,
        [(r.row, [p.as_dict() for p in r.problems]) for r in rejected],
        now=now,
    )
    append_many(session, entries)
    return counts


def _map(layout: mapping.Layout, row: SourceRow) -> Mapped | Rejected:
    if row.fields is None:
        return Rejected(row, [_decode_problem(row)])
    return mapping.map_row(layout, row)


def _owned(
    layout: mapping.Layout, outcome: Mapped | Rejected, actor_org: str | None
) -> Mapped | Rejected:
    """The outcome, or a rejection when the row is another organisation's to send."""
    if actor_org is None or not isinstance(outcome, Mapped):
        return outcome
    if outcome.agency == actor_org:
        return outcome
    if outcome.agency == layout.agency_kind:
        # The row does not say who holds it (the column is blank or names no organisation we
        # know): the organisation that sent it does.
        return replace(outcome, agency=actor_org)
    column = next((f.source for f in layout.fields if f.name == layout.holder.field), None)
    problem = Problem(
        column,
        f"the row says {outcome.agency} holds it, but the file was sent for {actor_org}: an "
        "organisation sends only its own records",
        f"have {outcome.agency} send it, or correct {column or 'the holder'} if it is wrong",
    )
    return Rejected(outcome.row, [problem])


def _decode_problem(row: SourceRow) -> Problem:
    return Problem(
        None,
        row.decode_problem or "the row could not be read",
        "check the file's encoding (UTF-8) and that the row is complete, then type its fields "
        "into the correction form",
    )


_PERSON_COLUMNS = tuple(f.name for f in dataclass_fields(PersonColumns))


def _record_values(m: Mapped, *, file: IngestFile, now: datetime) -> dict[str, Any]:
    return {
        "id": m.id,
        "file_id": file.id,
        "agency": m.agency,
        "layout": file.layout,
        "kind": m.kind,
        "source_name": file.name,
        "record_key": m.row.record_key[:200],
        "line": m.row.line,
        "received_at": now,
        "body": m.body,
        # The columns one by one: dataclasses.asdict deep-copies, which costs more than it needs.
        **{name: getattr(m.person, name) for name in _PERSON_COLUMNS},
    }


def _received_entry(m: Mapped, *, file_id: int | None, actor: str) -> NewEntry:
    # The entry commits to the record as received (content erasable later, the fact not).
    return NewEntry(
        entry_type=RECORD_RECEIVED,
        actor=actor,
        actor_org=m.agency,
        subjects=(Subject("agency_record", m.id),),
        payload={
            "file": file_id,
            "kind": m.kind,
            "recordKey": m.row.record_key,
            "body": m.body,
        },
    )


def _quarantine(
    session: Session,
    file_id: int,
    layout: str,
    rows: Sequence[tuple[SourceRow, list[dict[str, Any]]]],
    *,
    now: datetime,
) -> None:
    """Keep each bad row whole with its problems, once per file and record key."""
    if not rows:
        return
    keys = {row.record_key for row, _ in rows}
    held = set(
        session.scalars(
            select(QuarantinedRow.record_key).where(
                QuarantinedRow.file_id == file_id, QuarantinedRow.record_key.in_(keys)
            )
        )
    )
    values: list[dict[str, Any]] = []
    for row, problems in rows:
        if row.record_key in held:
            continue
        held.add(row.record_key)
        values.append(
            {
                "file_id": file_id,
                "layout": layout,
                "record_key": row.record_key[:200],
                "line": row.line,
                "raw": row.raw,
                "fields": row.fields,
                "problems": problems,
                "status": OPEN,
                "corrected": None,
                "record_id": None,
                "created_at": now,
                "resolved_at": None,
                "resolved_by": None,
            }
        )
    if values:
        session.execute(insert(QuarantinedRow).execution_options(render_nulls=True), values)


def _advance(
    session: Session, file_id: int, *, expected: int, chunk: Sequence[SourceRow], counts: _Counts
) -> None:
    """Count the chunk into the file, in its transaction; refuse if another run got there."""
    result = session.execute(
        update(IngestFile)
        .where(IngestFile.id == file_id, IngestFile.rows_seen == expected)
        .values(
            rows_seen=IngestFile.rows_seen + len(chunk),
            lines_done=chunk[-1].line,
            accepted=IngestFile.accepted + counts.accepted,
            rejected=IngestFile.rejected + counts.rejected,
            duplicate=IngestFile.duplicate + counts.duplicate,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise IngestBusy(
            f"file {file_id} is being ingested by another run at the same time; wait for it to "
            "finish (or, if it was stopped, run the same command again)"
        )


def _finish(session: Session, file_id: int, *, actor: str) -> IngestFile:
    lock_for_append(session)
    file = session.get(IngestFile, file_id)
    if file is None:  # deleted under us: nothing to finish
        raise IngestError(f"file {file_id} is no longer held")
    if file.status != COMPLETE:
        file.status = COMPLETE
        file.finished_at = utcnow()
        append_at_commit(
            session,
            entry_type=FILE_INGESTED,
            actor=actor,
            actor_org=None if file.agency == EVENTS else file.agency,
            subjects=[Subject("ingest_file", str(file.id))],
            payload={
                "name": file.name,
                "layout": file.layout,
                "sha256": file.sha256,
                "rows": file.rows_seen,
                "accepted": file.accepted,
                "rejected": file.rejected,
                "duplicate": file.duplicate,
            },
        )
    return file


# --- common-model events ------------------------------------------------------------------------


def _read_events(path: Path) -> Iterator[SourceRow]:
    """Each non-blank line of a JSON Lines file as a row; one that is not JSON is still a row."""
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raw = line.decode("utf-8", "replace").rstrip("\r\n")
                problem = f"line {line_no} is not UTF-8 (byte {exc.start})"
                yield SourceRow(line_no, str(line_no), raw, None, problem)
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                problem = f"line {line_no} is not JSON ({exc.msg} at column {exc.colno})"
                yield SourceRow(line_no, str(line_no), text, None, problem)
                continue
            if not isinstance(data, dict):
                problem = f"line {line_no} is JSON but not an object (an event is an object)"
                yield SourceRow(line_no, str(line_no), text, None, problem)
                continue
            yield SourceRow(line_no, str(line_no), text, data)


def _store_events(
    session: Session,
    file_id: int,
    chunk: Sequence[SourceRow],
    *,
    actor: str,
    actor_org: str | None,
) -> _Counts:
    lock_for_append(session)
    counts = _Counts()
    bad: list[tuple[SourceRow, list[dict[str, Any]]]] = []
    readable = []
    for row in chunk:
        if row.fields is None:
            bad.append((row, [_decode_problem(row).as_dict()]))
        else:
            readable.append(row)
    outcomes = receive_events(
        session, [row.fields or {} for row in readable], actor_id=actor, actor_org=actor_org
    )
    for row, outcome in zip(readable, outcomes, strict=True):
        if isinstance(outcome, IntakeError):
            bad.append((row, [_event_problem(outcome)]))
        elif outcome[1]:
            counts.accepted += 1
        else:
            counts.duplicate += 1
    counts.rejected = len(bad)
    _quarantine(session, file_id, EVENTS, bad, now=utcnow())
    return counts


def _event_problem(exc: IntakeError) -> dict[str, Any]:
    if exc.conflict:
        fix = "send the change as a new event with its own id, or withdraw this row"
    elif exc.where:
        fix = f"correct {exc.where} as the common model's schema for this event type says"
    else:
        fix = "check the event type and version against the published schemas (/api/schemas)"
    return Problem(exc.where, str(exc), fix).as_dict()


# --- correcting quarantined rows ----------------------------------------------------------------


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``FIELD=VALUE`` pairs as a mapping; ``IngestError`` naming the first that is not one."""
    values: dict[str, str] = {}
    for item in assignments:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise IngestError(f"{item!r} is not FIELD=VALUE (for example --set DOB=23/10/1989)")
        values[field.strip()] = value
    return values


def flat_fields(fields: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A row's fields as (path, text) pairs to show and correct: nested objects are opened
    up into dotted paths (``payload.case.urn``); lists and numbers are written as JSON."""
    flat: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        elif value is None:
            flat.append((prefix, ""))
        elif isinstance(value, str):
            flat.append((prefix, value))
        else:
            flat.append((prefix, json.dumps(value, ensure_ascii=False)))

    walk("", dict(fields or {}))
    return flat


def row_fields(row: QuarantinedRow) -> list[tuple[str, str]]:
    """A quarantined row's fields (as last corrected) to show, in the file's column order.

    PostgreSQL's JSONB does not keep the order of keys, so a CSV row's columns are put back in
    the order of its layout's header.
    """
    shown = flat_fields(row.corrected or row.fields)
    layout = None if row.layout == EVENTS else mapping.load_layouts().get(row.layout)
    columns = {name: i for i, name in enumerate(layout.columns)} if layout else {}
    if not columns:
        return shown
    return sorted(shown, key=lambda pair: columns.get(pair[0], len(columns)))


def corrected_fields(row: QuarantinedRow, corrections: Mapping[str, str]) -> dict[str, Any]:
    """The row's fields (as last corrected) with ``corrections`` applied.

    A field is a column of the row or a dotted path into it (``payload.case.urn``), as
    ``flat_fields`` names them. A value replacing text (or, in a CSV row, anything) is kept as
    text, as it would be in the file; one replacing a number, list or object, or filling an
    empty field of a JSON row, is read as JSON when it is JSON.
    """
    fields: dict[str, Any] = json.loads(json.dumps(row.corrected or row.fields or {}))
    for field, value in corrections.items():
        if field in fields or "." not in field:
            target, last = fields, field
        else:
            target = fields
            *parents, last = field.split(".")
            for part in parents:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {}
                target = child
        before = target.get(last)
        textual = isinstance(before, str) or (before is None and _is_flat(row))
        target[last] = value if textual else _json_or_text(value)
    return fields


def _is_flat(row: QuarantinedRow) -> bool:
    # A CSV row: every value is a string or missing, and nothing is nested.
    if row.layout == EVENTS:
        return False
    values = (row.fields or {}).values()
    return all(v is None or isinstance(v, str) for v in values)


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def quarantined(session: Session, row_id: int) -> QuarantinedRow:
    """One quarantined row; ``IngestError`` when there is none with that id."""
    row = session.get(QuarantinedRow, row_id)
    if row is None:
        raise IngestError(f"no quarantined row {row_id}; see `onestory quarantine list`")
    return row


def resubmit(
    session: Session,
    row_id: int,
    corrections: Mapping[str, str],
    *,
    actor: str,
    actor_org: str | None = None,
) -> QuarantinedRow:
    """Map the corrected row again: accepted, it becomes a record (ledgered) and the row is
    resolved; still wrong, its problems are replaced and it stays open. The caller commits."""
    lock_for_append(session)
    row = quarantined(session, row_id)
    if row.status != OPEN:
        raise IngestError(f"quarantined row {row_id} is already {row.status}")
    fields = corrected_fields(row, corrections)
    row.corrected = fields
    if row.layout == EVENTS:
        try:
            stored, _ = receive_event(session, fields, actor_id=actor, actor_org=actor_org)
        except IntakeError as exc:
            row.problems = [_event_problem(exc)]
            return row
        record_id = stored.id
    else:
        layouts = mapping.load_layouts()
        if row.layout not in layouts:
            raise IngestError(f"layout {row.layout!r} of quarantined row {row_id} is not shipped")
        source = SourceRow(row.line or 0, row.record_key, row.raw, fields)
        layout = layouts[row.layout]
        outcome = _owned(layout, mapping.map_row(layout, source), actor_org)
        if isinstance(outcome, Rejected):
            row.problems = [p.as_dict() for p in outcome.problems]
            return row
        record_id = outcome.id
        if session.get(AgencyRecord, record_id) is None:
            file = session.get(IngestFile, row.file_id)
            if file is None:
                raise IngestError(f"the file of quarantined row {row_id} is no longer held")
            session.add(AgencyRecord(**_record_values(outcome, file=file, now=utcnow())))
            session.flush()
            entry = _received_entry(outcome, file_id=row.file_id, actor=actor)
            append_at_commit(
                session,
                entry_type=entry.entry_type,
                actor=entry.actor,
                actor_org=entry.actor_org,
                subjects=list(entry.subjects),
                payload=dict(entry.payload or {}),
            )
    row.status = RESUBMITTED
    row.record_id = record_id
    row.resolved_at = utcnow()
    row.resolved_by = actor
    append_at_commit(
        session,
        entry_type=ROW_RESUBMITTED,
        actor=actor,
        actor_org=actor_org,
        subjects=[Subject("quarantined_row", str(row.id)), Subject("agency_record", record_id)],
        payload={"corrections": dict(corrections), "recordId": record_id},
    )
    return row


def withdraw(
    session: Session, row_id: int, *, reason: str, actor: str, actor_org: str | None = None
) -> QuarantinedRow:
    """Close a row that will not be corrected (sent in error, superseded), saying why."""
    reason = reason.strip()
    if not reason:
        raise IngestError("say why the row is withdrawn (for example: sent in error)")
    lock_for_append(session)
    row = quarantined(session, row_id)
    if row.status != OPEN:
        raise IngestError(f"quarantined row {row_id} is already {row.status}")
    row.status = WITHDRAWN
    row.resolved_at = utcnow()
    row.resolved_by = actor
    append_at_commit(
        session,
        entry_type=ROW_WITHDRAWN,
        actor=actor,
        actor_org=actor_org,
        subjects=[Subject("quarantined_row", str(row.id))],
        payload={"reason": reason},
    )
    return row


def file_summary(session: Session, file_id: int) -> FileSummary | None:
    """The summary of one stored file, or None."""
    file = session.get(IngestFile, file_id)
    return FileSummary.of(file) if file is not None else None
