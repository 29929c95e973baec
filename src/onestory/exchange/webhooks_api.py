"""Agency systems managing their webhook subscriptions, and reading their delivery log.

A subscription belongs to the key that made it: another key, even of the same organisation,
is answered 404 as for a subscription that does not exist. The secret that signs deliveries
is in the answer to the POST that creates the subscription, and never again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from onestory.exchange import webhooks
from onestory.exchange.webhook_tables import (
    FORMATS,
    ONESTORY_FORMAT,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from onestory.sharing.vocabulary import Purpose
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/subscriptions", tags=["exchange"])


class SubscriptionCreate(BaseModel):
    """What a system asks to be sent, where, in which format and why."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="forbid")

    event_types: list[str] = Field(
        min_length=1, description="Event types, e.g. court.hearing.listed"
    )
    target_url: str = Field(max_length=2000, description="https URL deliveries are POSTed to")
    format: str = Field(default=ONESTORY_FORMAT, description=f"One of: {', '.join(FORMATS)}")
    purpose: Purpose = Field(description="Why the events are wanted; the agreements must allow it")


def _public(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "eventTypes": list(subscription.event_types),
        "targetUrl": subscription.target_url,
        "format": subscription.format,
        "purpose": subscription.purpose,
        "active": subscription.active,
        "createdAt": subscription.created_at.isoformat(),
        "deletedAt": subscription.deleted_at.isoformat() if subscription.deleted_at else None,
    }


def _attempt(row: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": row.attempt,
        "at": row.attempted_at.isoformat(),
        "statusCode": row.status_code,
        "error": row.error,
        "durationMs": row.duration_ms,
        "outcome": row.outcome,
    }


def _delivery(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "status": delivery.status,
        "attempts": [_attempt(a) for a in attempts],
        "nextAttemptAt": delivery.next_attempt_at.isoformat()
        if delivery.status == "pending"
        else None,
        "deliveredAt": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "lastError": delivery.last_error,
    }


def _refuse(exc: webhooks.WebhookError) -> HTTPException:
    return HTTPException(exc.status, {"problem": str(exc), "field": exc.where})


@router.post("", status_code=201)
def create(
    request: Request, client: ApiClientDep, session: SessionDep, asked: SubscriptionCreate
) -> dict[str, Any]:
    """Subscribe to event types. Keep the ``secret``: it is shown now and never again."""
    try:
        subscription, secret = webhooks.create_subscription(
            session,
            client=client,
            event_types=asked.event_types,
            target_url=asked.target_url,
            format=asked.format,
            purpose=asked.purpose,
            policies=request.app.state.policies,
            production=request.app.state.settings.env == "production",
        )
    except webhooks.WebhookError as exc:
        session.rollback()
        raise _refuse(exc) from exc
    session.commit()
    return {**_public(subscription), "secret": secret}


@router.get("")
def list_subscriptions(client: ApiClientDep, session: SessionDep) -> dict[str, Any]:
    """This key's subscriptions, newest first, deleted ones included."""
    return {"subscriptions": [_public(s) for s in webhooks.subscriptions_of(session, client)]}


@router.get("/{subscription_id}")
def read_subscription(
    subscription_id: str, client: ApiClientDep, session: SessionDep
) -> dict[str, Any]:
    """One of this key's subscriptions (without its secret)."""
    try:
        return _public(webhooks.subscription_of(session, client, subscription_id))
    except webhooks.WebhookError as exc:
        raise _refuse(exc) from exc


@router.delete("/{subscription_id}")
def delete(subscription_id: str, client: ApiClientDep, session: SessionDep) -> dict[str, Any]:
    """Stop a subscription. Queued deliveries are cancelled; its history stays readable."""
    try:
        subscription = webhooks.delete_subscription(
            session, client=client, subscription_id=subscription_id
        )
    except webhooks.WebhookError as exc:
        session.rollback()
        raise _refuse(exc) from exc
    session.commit()
    return _public(subscription)


@router.get("/{subscription_id}/deliveries")
def deliveries(
    subscription_id: str,
    client: ApiClientDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The delivery log: each delivery's status and every attempt (when, answer, time taken).

    Bodies are not repeated here: the events themselves are read at /api/events/{id}.
    """
    try:
        subscription = webhooks.subscription_of(session, client, subscription_id)
    except webhooks.WebhookError as exc:
        raise _refuse(exc) from exc
    return {
        "subscription": subscription.id,
        "deliveries": [
            _delivery(d, attempts)
            for d, attempts in webhooks.deliveries_of(session, subscription, limit=limit)
        ],
    }
