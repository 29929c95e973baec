"""Events received from agencies, kept whole, with their person references indexed for lookup."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.store.base import Base, JSONDocument, utcnow

if TYPE_CHECKING:
    from onestory.domain.events import EventEnvelope


class StoredEvent(Base):
    """One event in the common model, as an agency asserted it."""

    __tablename__ = "event"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    asserted_by: Mapped[str] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    envelope: Mapped[dict[str, Any]]

    person_refs: Mapped[list[EventPersonRef]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )

    @classmethod
    def of(cls, event: EventEnvelope[Any], envelope: dict[str, Any]) -> StoredEvent:
        """The row for a validated event, with its person references indexed."""
        refs = event.person_reference.identifiers if event.person_reference else []
        return cls(
            id=str(event.id),
            type=event.event_type,
            version=event.version,
            occurred_at=event.occurred_at,
            asserted_by=event.asserted_by,
            envelope=envelope,
            person_refs=[EventPersonRef(id_type=r.type, value=r.value) for r in refs],
        )


class EventPersonRef(Base):
    """A typed identifier (PNC, NOMS, CRN...) of a person an event is about."""

    __tablename__ = "event_person_ref"
    __table_args__ = (Index("ix_event_person_ref_type_value", "id_type", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    id_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))

    event: Mapped[StoredEvent] = relationship(back_populates="person_refs")


# --- Bulk files: what arrived, what was accepted, what was quarantined -----------------------

RUNNING = "running"
COMPLETE = "complete"
FILE_STATUSES = (RUNNING, COMPLETE)

OPEN = "open"
RESUBMITTED = "resubmitted"
WITHDRAWN = "withdrawn"
QUARANTINE_STATUSES = (OPEN, RESUBMITTED, WITHDRAWN)


class IngestFile(Base):
    """One agency file as delivered: its hash (the idempotency key, with the sender) and how
    far it got.

    The same bytes delivered again by the same sender find this row: complete, nothing
    changes; still running (the last run was killed), the run resumes after ``lines_done``, the
    last line whose records were committed together with this count.
    """

    __tablename__ = "ingest_file"
    __table_args__ = (UniqueConstraint("organisation", "layout", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency: Mapped[str] = mapped_column(String(32), index=True)
    # The organisation that sent it (its staff or systems), which alone may see it; "" for a
    # file the operator loads from the command line. Part of the idempotency key, so the same
    # bytes from another organisation are that organisation's own file.
    organisation: Mapped[str] = mapped_column(String(32), default="")
    layout: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    lines_done: Mapped[int] = mapped_column(default=0)
    rows_seen: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    duplicate: Mapped[int] = mapped_column(default=0)
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class AgencyRecord(Base):
    """One record an agency sent (a row of its extract, or a record posted to the API).

    ``body`` is the record in the common model: ``{"person": Person, "record": {...}}``. The
    person columns are the same facts flattened and canonicalised for linkage and lookup; they
    are filled from ``body`` by the mapping, never typed in separately. ``id`` is
    SHA-256 over the layout and the row's canonical content, so the same row delivered again
    (in this file or another) is recognised as a duplicate.
    """

    __tablename__ = "agency_record"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_file.id", ondelete="SET NULL"), index=True
    )
    agency: Mapped[str] = mapped_column(String(32), index=True)
    layout: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    # Where the record came from: file name and key as synth's ground_truth.csv writes them
    # (a CSV data row number, a JSON pointer such as /0/defendants/1, a JSON Lines line number).
    source_name: Mapped[str] = mapped_column(String(255))
    record_key: Mapped[str] = mapped_column(String(200))
    line: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    body: Mapped[dict[str, Any]]
    # The person, flattened for linkage (canonical forms; None when the record lacks it).
    forenames: Mapped[str | None] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(100), index=True)
    date_of_birth: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(1))
    postcode: Mapped[str | None] = mapped_column(String(10))
    pnc_id: Mapped[str | None] = mapped_column(String(16), index=True)
    cro_number: Mapped[str | None] = mapped_column(String(16))
    prison_number: Mapped[str | None] = mapped_column(String(16), index=True)
    probation_crn: Mapped[str | None] = mapped_column(String(16))
    uln: Mapped[str | None] = mapped_column(String(16))
    ni_number: Mapped[str | None] = mapped_column(String(16))
    case_urn: Mapped[str | None] = mapped_column(String(16), index=True)


class QuarantinedRow(Base):
    """A row that could not be accepted, kept whole with every problem found in it.

    ``problems`` is a list of ``{"field", "problem", "fix"}``. A person corrects the row
    (``corrected`` holds their version of the fields) and resubmits it; it then goes through the
    same mapping as any other row, and on success ``record_id`` points at what it became.
    """

    __tablename__ = "quarantined_row"
    __table_args__ = (UniqueConstraint("file_id", "record_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingest_file.id", ondelete="CASCADE"))
    layout: Mapped[str] = mapped_column(String(40))
    record_key: Mapped[str] = mapped_column(String(200))
    line: Mapped[int | None]
    raw: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None]
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    corrected: Mapped[dict[str, Any] | None]
    record_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(80))
