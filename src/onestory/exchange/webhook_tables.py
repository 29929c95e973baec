"""Outbound webhooks: who subscribed to which events, what is queued for them, what happened.

A subscription belongs to the API client that made it and acts with that client's role and
organisation: every delivery is a disclosure the sharing rules allowed when the event arrived.
A delivery row is written in the event's own transaction (the outbox), so an event that rolled
back is never sent and one that committed is never lost; a worker sends it later
(``exchange.webhooks.deliver_due``) and appends one ``WebhookAttempt`` per try.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.sharing.client_tables import ApiClient
from onestory.sharing.tables import Organisation
from onestory.store.base import Base, utcnow

ONESTORY_FORMAT = "onestory"
HMPPS_FORMAT = "hmpps"
FORMATS = (ONESTORY_FORMAT, HMPPS_FORMAT)

PENDING = "pending"
DELIVERING = "delivering"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"  # the subscription was deleted before the delivery was made
STATUSES = (PENDING, DELIVERING, DELIVERED, FAILED, CANCELLED)


class WebhookSubscription(Base):
    """An agency system's standing request to be sent events of some types, for a purpose.

    ``secret`` signs every delivery. It is kept in the clear because signing needs it (it is
    shown to the client once, on creation); it protects the receiver from forgeries, not
    OneStory's data, which the receiver is entitled to anyway.
    """

    __tablename__ = "webhook_subscription"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    event_types: Mapped[list[str]]
    target_url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    api_client: Mapped[ApiClient] = relationship()
    organisation: Mapped[Organisation] = relationship()


class WebhookDelivery(Base):
    """One event to send to one subscription, with where it has got to.

    ``body`` is rendered when the event arrives, so every retry sends the same bytes that the
    sharing decision allowed. ``next_attempt_at`` is when to try again while ``pending`` and
    when the claim lapses while ``delivering`` (a worker that died leaves it to be retried), so
    one index answers the worker's only query.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscription.id"))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    allowed_by: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One try at a delivery: the delivery log a subscriber and an auditor read."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempt: Mapped[int]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))
