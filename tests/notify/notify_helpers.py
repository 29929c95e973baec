"""Shared test helpers for notify: queueing a message with sensible defaults."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from onestory.notify.contact import ContactWindow
from onestory.notify.outbox import enqueue
from onestory.notify.tables import NotifyMessage


def queue(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    channel: str = "email",
    address: str = "person@example.org",
    template: str = "story-received",
    personalisation: dict[str, object] | None = None,
    windows: Sequence[ContactWindow] = (),
    key: str | None = None,
    language: str = "en",
) -> NotifyMessage:
    """Queue one message and commit it."""
    with sessions() as session:
        message = enqueue(
            session,
            recipient_subject_id="person-1",
            channel=channel,
            address=address,
            template=template,
            language=language,
            personalisation=personalisation or {"reference": "OS-123"},
            idempotency_key=key or f"test:{uuid.uuid4()}",
            reference="story:1",
            windows=windows,
            now=now,
        )
        session.commit()
        return message


def reload(sessions: sessionmaker[Session], message_id: str) -> NotifyMessage:
    with sessions() as session:
        message = session.get(NotifyMessage, message_id)
        assert message is not None
        return message
