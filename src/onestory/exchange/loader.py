"""A plain loader for a synthetic world's organisations and common-model events.

This is the demo's way in; the real exchange (agency layouts, quarantine, idempotency keys)
replaces it. It already refuses nothing silently: an event that does not validate stops the
load with the file, line and reason, and nothing from that batch is committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.domain.events import EventError, parse_event
from onestory.exchange.tables import StoredEvent
from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_many
from onestory.sharing.tables import Organisation

BATCH_SIZE = 2_000
LOADER_ACTOR = "system:demo-loader"


class LoadError(Exception):
    """A file that cannot be loaded; the message names the file, line and problem."""


@dataclass
class LoadSummary:
    """What a load did."""

    organisations_added: int = 0
    events_added: int = 0
    events_already_present: int = 0


def load_organisations(session: Session, path: Path) -> int:
    """Add the organisations listed in ``path`` that are not there yet; returns how many."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoadError(f"{path}: cannot read organisations ({exc})") from exc
    existing = {org.code: org for org in session.scalars(select(Organisation))}
    added = 0
    for index, row in enumerate(rows, start=1):
        try:
            code, name, kind = row["code"], row["name"], row["kind"]
        except (KeyError, TypeError) as exc:
            raise LoadError(f"{path}: organisation #{index} lacks {exc}") from exc
        if code in existing:
            # Organisations loaded before areas were recorded get theirs now.
            if existing[code].police_area is None and row.get("forceCode"):
                existing[code].police_area = row["forceCode"]
            continue
        area = row.get("forceCode")
        organisation = Organisation(code=code, name=name, kind=kind, police_area=area)
        session.add(organisation)
        existing[code] = organisation
        added += 1
    return added


def _read_events(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoadError(f"{path}:{line_no}: not JSON ({exc.msg})") from exc


def load_events(
    session: Session,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Store every event in ``path`` (JSON Lines) not already held; returns (added, present).

    Each stored event is ledgered (``exchange.event.received``) in the same transaction.

    Events are validated against their registered type and version first. Batches are
    committed as they fill, so a long load can be interrupted and re-run: it resumes by skipping
    the events it already holds.
    """
    added = present = 0
    batch: list[tuple[int, dict[str, Any]]] = []
    entries: list[NewEntry] = []

    def flush() -> None:
        nonlocal added, present
        ids = [str(obj["id"]) for _, obj in batch]
        held = set(session.scalars(select(StoredEvent.id).where(StoredEvent.id.in_(ids))))
        for line_no, obj in batch:
            try:
                event = parse_event(obj)
            except (EventError, ValidationError) as exc:
                session.rollback()
                raise LoadError(f"{path}:{line_no}: {_first_error(exc)}") from exc
            event_id = str(event.id)
            if event_id in held:
                present += 1
                continue
            held.add(event_id)
            envelope = event.model_dump(mode="json")
            session.add(StoredEvent.of(event, envelope))
            # The ledger commits to the event (details erasable), in the same transaction.
            entries.append(
                NewEntry(
                    entry_type="exchange.event.received",
                    actor=LOADER_ACTOR,
                    actor_org=event.asserted_by,
                    subjects=(Subject("event", event_id),),
                    payload=envelope,
                )
            )
            added += 1
        session.flush()
        append_many(session, entries)
        entries.clear()
        session.commit()
        if progress:
            progress(len(batch))
        batch.clear()

    for item in _read_events(path):
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            flush()
    if batch:
        flush()
    return added, present


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}"
    return str(exc)


def count_event_lines(path: Path) -> int:
    """How many events a JSON Lines file holds (for a progress bar's total)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
