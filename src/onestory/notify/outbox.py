"""Queueing a message to a person, in the transaction of the change it tells them about.

``enqueue`` renders the message at once, so a missing field fails the caller's transaction
rather than a worker's run hours later, and writes a ledger entry that says a message was
queued (which template, which channel, about what) but never the address or the text.
Delivery happens later, in ``notify.worker``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestory.ledger.entries import Subject
from onestory.ledger.log import append_at_commit, lock_for_append
from onestory.notify.contact import ContactWindow, next_allowed, windows_to_json
from onestory.notify.tables import CHANNELS, CREATED, LANGUAGES, NotifyMessage
from onestory.notify.templates import render
from onestory.store.base import utcnow

QUEUED = "notify.message.queued"
DELIVERED_ENTRY = "notify.message.delivered"
ACTOR = "system:notify"
_TABLE = cast(Table, NotifyMessage.__table__)


class OutboxError(ValueError):
    """A message that cannot be queued as asked; the message says which field is wrong."""


def enqueue(
    session: Session,
    *,
    recipient_subject_id: str,
    channel: str,
    address: str,
    template: str,
    language: str,
    personalisation: Mapping[str, object],
    idempotency_key: str,
    reference: str | None = None,
    windows: Sequence[ContactWindow] = (),
    now: datetime | None = None,
) -> NotifyMessage:
    """Queue a message in the caller's transaction (the caller commits) and ledger it.

    The same ``idempotency_key`` never makes a second message: a repeat call returns the first
    message unchanged, even when two transactions race (the loser waits for the winner's commit
    on PostgreSQL and then finds its row).
    """
    _check(recipient_subject_id, channel, address, language, idempotency_key)
    rendered = render(template, language, personalisation)
    now = now or utcnow()
    not_before = next_allowed(now, windows)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "idempotency_key": idempotency_key,
        "recipient_subject_id": recipient_subject_id,
        "channel": channel,
        "address": address,
        "template": template,
        "language": language,
        "personalisation": dict(personalisation),
        "subject": rendered.subject,
        "body": rendered.body,
        "reference": reference,
        "status": CREATED,
        "attempts": 0,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "created_at": now,
        "contact_windows": windows_to_json(windows),
    }
    # The ledger's lock first, then the key: every writer takes them in that order, so a caller
    # that appended before enqueueing cannot deadlock with one that enqueues the same key.
    lock_for_append(session)
    if not _insert_once(session, row):
        existing = session.scalar(
            select(NotifyMessage).where(NotifyMessage.idempotency_key == idempotency_key)
        )
        if existing is None:  # pragma: no cover - the conflicting row vanished mid-transaction
            raise OutboxError(f"message {idempotency_key!r} conflicted but cannot be read back")
        return existing
    append_at_commit(
        session,
        entry_type=QUEUED,
        actor=ACTOR,
        subjects=[Subject("person", recipient_subject_id)],
        payload={"template": template, "channel": channel, "reference": reference},
    )
    message = session.get(NotifyMessage, row["id"])
    assert message is not None  # inserted just above, in this transaction
    return message


def _insert_once(session: Session, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its idempotency key exists; whether it was inserted."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(_TABLE)
            .values(row)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_TABLE.c.id)
        )
        # RETURNING, not rowcount: the drivers do not agree on rowcount for DO NOTHING.
        return session.connection().execute(statement).scalar() is not None
    try:
        with session.begin_nested():
            session.connection().execute(insert(_TABLE).values(row))
    except IntegrityError:
        return False
    return True


def _check(recipient_subject_id: str, channel: str, address: str, language: str, key: str) -> None:
    if channel not in CHANNELS:
        raise OutboxError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    if language not in LANGUAGES:
        raise OutboxError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    if not recipient_subject_id:
        raise OutboxError("a message must be for someone: recipient_subject_id is empty")
    if not address.strip():
        raise OutboxError(f"a message needs an address: the {channel} address is empty")
    if not key:
        raise OutboxError("idempotency_key is empty; give the key of the change it reports")
