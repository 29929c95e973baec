"""Events received from agencies, kept whole, with their person references indexed for lookup."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.store.base import Base, utcnow

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
