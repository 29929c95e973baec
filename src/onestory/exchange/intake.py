"""Events coming in one at a time: from agency systems through the API, and from staff pages.

Both paths end in ``receive_event``, so an event recorded on a page is the same common-model
event an agency system would have posted, and both reach the same subscribers (the victims'
timeline and duty clocks, for one). The event id is the idempotency key: sending the same event
again changes nothing; sending different content under an id already used is refused.

Subscribers run inside the caller's transaction, so an event, its ledger entry and everything
it causes (a timeline entry, a duty clock, a queued notification) commit or fail together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.domain.events import EventEnvelope, EventError, parse_event
from onestory.exchange.tables import StoredEvent
from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit, lock_for_append
from onestory.sharing.vocabulary import RecordKind

RECEIVED = "exchange.event.received"

# What kind of record each event type is, for the sharing policy (reading, sending and
# subscribing to it are decided as for that kind of record).
EVENT_RECORD_KINDS: dict[str, RecordKind] = {
    "police.crime.recorded": RecordKind.CASE,
    "police.suspect.arrested": RecordKind.CASE,
    "police.charge.decided": RecordKind.CASE,
    "cps.case.reviewed": RecordKind.CASE,
    "cps.charges.altered": RecordKind.CASE,
    "court.hearing.listed": RecordKind.HEARING,
    "court.hearing.resulted": RecordKind.HEARING,
    "court.sentence.imposed": RecordKind.CASE,
    "prison.prisoner.received": RecordKind.CUSTODY,
    "prison.prisoner.released": RecordKind.CUSTODY,
    "probation.supervision.started": RecordKind.PROBATION,
    "probation.supervision.ended": RecordKind.PROBATION,
    "probation.victim_contact.referred": RecordKind.VICTIM_CONTACT,
    "education.learning.recorded": RecordKind.LEARNING_RECORD,
    "witness_care.victim.informed": RecordKind.VICTIM,
}


# ...and each agency record (``AgencyRecord.kind``, e.g. ``prison.custody``): who the record is
# about is a ``person`` record, but what it says is the agency's kind of record.
_AGENCY_RECORD_KINDS: dict[str, RecordKind] = {
    "police": RecordKind.CASE,
    "cps": RecordKind.CASE,
    "court": RecordKind.CASE,
    "prison": RecordKind.CUSTODY,
    "probation": RecordKind.PROBATION,
    "education": RecordKind.LEARNING_RECORD,
}


def record_sharing_kind(kind: str) -> RecordKind:
    """The sharing rules' kind for what an agency record says (``police.victim`` -> victim)."""
    if kind.endswith(".victim"):
        return RecordKind.VICTIM
    return _AGENCY_RECORD_KINDS.get(kind.split(".", 1)[0], RecordKind.PERSON)


EventSubscriber = Callable[[Session, EventEnvelope[Any]], None]

_subscribers: list[EventSubscriber] = []


class IntakeError(ValueError):
    """An event that cannot be accepted; ``where`` is the field at fault, when known."""

    def __init__(self, message: str, *, where: str | None = None, conflict: bool = False) -> None:
        super().__init__(message)
        self.where = where
        self.conflict = conflict


def subscribe(subscriber: EventSubscriber) -> None:
    """Have ``subscriber`` called for every new event, in the transaction that stores it."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def validate_event(data: Mapping[str, Any]) -> EventEnvelope[Any]:
    """The event as the common model reads it, or an ``IntakeError`` naming the field."""
    try:
        return parse_event(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise IntakeError(f"{where}: {err['msg']}", where=where) from exc
    except EventError as exc:
        raise IntakeError(str(exc)) from exc


def receive_event(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor_id: str,
    actor_org: str | None,
) -> tuple[StoredEvent, bool]:
    """Store a new event, ledger it and tell the subscribers; returns (event, was it new).

    An organisation asserts only its own events: ``assertedBy`` must be the actor's
    organisation. The caller commits.
    """
    outcome = receive_events(session, [data], actor_id=actor_id, actor_org=actor_org)[0]
    if isinstance(outcome, IntakeError):
        raise outcome
    return outcome


def receive_events(
    session: Session,
    items: Sequence[Mapping[str, Any]],
    *,
    actor_id: str,
    actor_org: str | None,
) -> list[tuple[StoredEvent, bool] | IntakeError]:
    """``receive_event`` for a batch, in order: per item, (event, was it new) or its error.

    The same checks and the same subscribers, one after another, but one lookup of the ids
    already held and one flush for the batch instead of one each — what a bulk file needs. An
    item refused does not stop the others. The caller commits.
    """
    outcomes: dict[int, tuple[StoredEvent, bool] | IntakeError] = {}
    parsed: list[tuple[int, EventEnvelope[Any], dict[str, Any]]] = []
    for index, data in enumerate(items):
        try:
            event = validate_event(data)
            if actor_org is not None and event.asserted_by != actor_org:
                raise IntakeError(
                    f"assertedBy is {event.asserted_by!r} but you act for {actor_org!r}: an "
                    "organisation can only send its own events",
                    where="assertedBy",
                )
        except IntakeError as exc:
            outcomes[index] = exc
            continue
        parsed.append((index, event, event.model_dump(mode="json")))
    lock_for_append(session)
    ids = [str(event.id) for _, event, _ in parsed]
    held = {e.id: e for e in session.scalars(select(StoredEvent).where(StoredEvent.id.in_(ids)))}
    new: list[tuple[int, EventEnvelope[Any], StoredEvent]] = []
    for index, event, envelope in parsed:
        event_id = str(event.id)
        known = held.get(event_id)
        if known is not None:
            if known.envelope != envelope:
                outcomes[index] = IntakeError(
                    f"event {event_id} was already received with different content; send a "
                    "change as a new event with its own id",
                    where="id",
                    conflict=True,
                )
            else:
                outcomes[index] = (known, False)
            continue
        stored = StoredEvent.of(event, envelope)
        held[event_id] = stored
        session.add(stored)
        new.append((index, event, stored))
        outcomes[index] = (stored, True)
    session.flush()
    for _, event, stored in new:
        append_at_commit(
            session,
            entry_type=RECEIVED,
            actor=actor_id,
            actor_org=event.asserted_by,
            subjects=[Subject("event", stored.id)],
            payload=stored.envelope,
        )
        for subscriber in _subscribers:
            subscriber(session, event)
    return [outcomes[index] for index in range(len(items))]
