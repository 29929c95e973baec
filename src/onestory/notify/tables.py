"""The outbox table: every message to a person, from the moment it is queued to its delivery.

A row is written in the same transaction as the change it tells the person about, and a worker
sends it later (``notify.worker``), so a message is never sent for a change that rolled back
and never lost for one that committed. ``status`` uses GOV.UK Notify's delivery states.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, JSONDocument, utcnow

CREATED = "created"
SENDING = "sending"
DELIVERED = "delivered"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
TECHNICAL_FAILURE = "technical-failure"
STATUSES = (
    CREATED,
    SENDING,
    DELIVERED,
    TEMPORARY_FAILURE,
    PERMANENT_FAILURE,
    TECHNICAL_FAILURE,
)
FINAL_STATUSES = frozenset({DELIVERED, PERMANENT_FAILURE})
RETRYABLE_STATUSES = (TEMPORARY_FAILURE, TECHNICAL_FAILURE)

EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)
LANGUAGES = ("en", "cy")


class NotifyMessage(Base):
    """One message to one person, rendered when queued, with where it has got to.

    ``next_attempt_at`` does three jobs, so one index answers the worker's only query: for a
    queued or failed message it is when to try again; for a message being sent it is when the
    claim lapses (a worker that died leaves it to be retried); for a message a provider has
    accepted (``sending`` with a ``provider_id``) it is when to ask the provider again.
    """

    __tablename__ = "notify_message"
    __table_args__ = (
        Index("ix_notify_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    # A random id, not a sequence: the file channel names files by it, and a reset database
    # must never reuse the name of a message already written.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_subject_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    personalisation: Mapped[dict[str, Any]]
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(24), default=CREATED)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    provider_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    contact_windows: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
