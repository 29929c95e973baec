"""Sending what is due: claim a message, send it outside any transaction, record the result.

Each message goes through three short steps. A claim (one ``UPDATE``, in its own transaction)
marks it ``sending`` until a lease runs out; on PostgreSQL the row is chosen with ``FOR UPDATE
SKIP LOCKED``, so two workers never claim one message, and on SQLite the ``UPDATE`` takes the
database's write lock first. The send happens with no transaction open, so a slow provider
holds no locks. The result is recorded in a new transaction, which on delivery also writes the
ledger entry and runs the delivery hooks.

If a worker dies after claiming, the lease runs out and the message is sent again. A channel
that had accepted it may then see it twice: the file channel is idempotent by message id, the
SMTP channel sends the same ``Message-ID``, and the Notify channel looks the message up by its
``reference`` (the idempotency key) before sending it again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.notify.channels import Channel, SendResult
from onestory.notify.contact import is_allowed, next_allowed, windows_from_json
from onestory.notify.outbox import ACTOR, DELIVERED_ENTRY
from onestory.notify.tables import (
    CREATED,
    DELIVERED,
    PERMANENT_FAILURE,
    RETRYABLE_STATUSES,
    SENDING,
    TECHNICAL_FAILURE,
    NotifyMessage,
)
from onestory.store.base import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # a claim older than this belongs to a worker that died
FIRST_RETRY = timedelta(seconds=30)
RETRY_GROWTH = 4  # 30 s, 2 min, 8 min, 32 min, then the cap
MAX_RETRY = timedelta(hours=1)
FIRST_CHECK = timedelta(seconds=30)
MAX_CHECK = timedelta(hours=1)
GIVE_UP_CHECKING = timedelta(days=4)  # Notify's own retries end after 72 hours

DeliveryHook = Callable[[Session, NotifyMessage], None]
_HOOKS: list[DeliveryHook] = []
_TABLE = cast(Table, NotifyMessage.__table__)


def register_delivery_hook(hook: DeliveryHook) -> None:
    """Run ``hook`` in the transaction that records each delivery (once per hook)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def unregister_delivery_hook(hook: DeliveryHook) -> None:
    """Stop running ``hook`` (tests, and modules that unload)."""
    if hook in _HOOKS:
        _HOOKS.remove(hook)


@dataclass
class DeliveryReport:
    """What one run did: handed over, delivered, failed, and left waiting for later."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    waiting: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.delivered} delivered, {self.failed} failed, "
            f"{self.waiting} waiting"
        )


def deliver_due(
    sessions: sessionmaker[Session],
    channel: Channel,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Send (or ask after) up to ``limit`` messages that are due at ``now``."""
    now = now or utcnow()
    report = DeliveryReport()
    for _ in range(limit):
        claimed = _claim(sessions, now)
        if claimed is None:
            break
        if claimed.provider_id is None:
            windows = windows_from_json(claimed.contact_windows)
            if not is_allowed(now, windows):
                # The worker was down through the window: wait for the next one, do not send.
                _defer(sessions, claimed, next_allowed(now, windows))
                continue
            result = _call(channel.send, claimed)
            if result.status in (SENDING, DELIVERED):
                report.sent += 1
        else:
            result = _call(channel.check, claimed)
        final = _record(sessions, claimed, result, now)
        if final == DELIVERED:
            report.delivered += 1
        elif final not in (SENDING, None):
            report.failed += 1
    report.waiting = _waiting(sessions)
    return report


async def deliver_every(interval: float, sessions: sessionmaker[Session], channel: Channel) -> None:
    """Deliver every ``interval`` seconds until cancelled (the web server's lifespan task)."""
    if interval <= 0:
        return
    while True:
        try:
            report = await asyncio.to_thread(deliver_due, sessions, channel)
            if report.sent or report.delivered or report.failed:
                logger.info("notify: %s", report)
        except Exception:  # one bad run must not stop delivery for good
            logger.exception("notify: a delivery run failed; trying again in %s s", interval)
        await asyncio.sleep(interval)


def _due(table: Any, now: datetime) -> Any:
    return and_(
        table.c.next_attempt_at <= now,
        or_(
            and_(table.c.status == CREATED, table.c.not_before <= now),
            and_(table.c.status.in_(RETRYABLE_STATUSES), table.c.attempts < MAX_ATTEMPTS),
            table.c.status == SENDING,
        ),
    )


def _claim(sessions: sessionmaker[Session], now: datetime) -> NotifyMessage | None:
    """Claim the most overdue message; a copy of it as claimed, or None if none is due."""
    # An alias, so the subquery reads the table afresh rather than correlating to the UPDATE.
    due = _TABLE.alias("due")
    chosen = (
        select(due.c.id)
        .where(_due(due, now))
        .order_by(due.c.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    # A message a provider accepted is only asked after; anything else is (re)sent.
    checking = and_(_TABLE.c.status == SENDING, _TABLE.c.provider_id.is_not(None))
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == chosen)
        .values(
            status=SENDING,
            attempts=case((checking, _TABLE.c.attempts), else_=_TABLE.c.attempts + 1),
            provider_id=case((checking, _TABLE.c.provider_id), else_=None),
            next_attempt_at=now + LEASE,
        )
        .returning(*_TABLE.c)
    )
    with sessions() as session, session.begin():
        row = session.execute(statement).mappings().first()
    # A detached copy: the channel reads it with no session or transaction open.
    return None if row is None else NotifyMessage(**dict(row))


def _call(method: Callable[[NotifyMessage], SendResult], message: NotifyMessage) -> SendResult:
    try:
        return method(message)
    except Exception as exc:  # a channel bug must fail one message, not the run
        logger.exception("notify: the channel raised for message %s", message.id)
        return SendResult(TECHNICAL_FAILURE, error=f"the channel raised {type(exc).__name__}")


def _ours(claimed: NotifyMessage) -> Any:
    """The row is still as we claimed it (no other worker took it over after the lease)."""
    provider = (
        _TABLE.c.provider_id.is_(None)
        if claimed.provider_id is None
        else _TABLE.c.provider_id == claimed.provider_id
    )
    return and_(
        _TABLE.c.id == claimed.id,
        _TABLE.c.status == SENDING,
        _TABLE.c.attempts == claimed.attempts,
        provider,
    )


def _defer(sessions: sessionmaker[Session], claimed: NotifyMessage, until: datetime) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(_TABLE)
            .where(_ours(claimed))
            .values(
                status=CREATED,
                attempts=claimed.attempts - 1,  # waiting for a safe time is not an attempt
                not_before=until,
                next_attempt_at=until,
            )
        )


def _record(
    sessions: sessionmaker[Session], claimed: NotifyMessage, result: SendResult, now: datetime
) -> str | None:
    """Store the result; the message's new status, or None if another worker had taken over."""
    values = _outcome(claimed, result, now)
    with sessions() as session:
        try:
            return _store(session, claimed, values, run_hooks=True)
        except Exception:
            session.rollback()
            if values["status"] != DELIVERED:
                raise
            # The message reached the person: record that even if a hook is broken, or the
            # lease would run out and they would get it again.
            logger.exception("notify: a delivery hook failed for message %s", claimed.id)
            values["last_error"] = "delivered, but a delivery hook failed; see the server log"
            return _store(session, claimed, values, run_hooks=False)


def _store(
    session: Session, claimed: NotifyMessage, values: dict[str, Any], *, run_hooks: bool
) -> str | None:
    with session.begin():
        # Write first: on SQLite this takes the write lock before anything is read.
        changed = session.execute(update(_TABLE).where(_ours(claimed)).values(**values))
        if not changed.rowcount:  # type: ignore[attr-defined]
            logger.warning("notify: message %s was taken over by another worker", claimed.id)
            return None
        if values["status"] == DELIVERED:
            message = session.get(NotifyMessage, claimed.id, populate_existing=True)
            assert message is not None  # just updated
            append(
                session,
                entry_type=DELIVERED_ENTRY,
                actor=ACTOR,
                subjects=[Subject("person", message.recipient_subject_id)],
                payload={
                    "template": message.template,
                    "channel": message.channel,
                    "reference": message.reference,
                    "attempts": message.attempts,
                },
            )
            if run_hooks:
                for hook in list(_HOOKS):
                    hook(session, message)
    return str(values["status"])


def _outcome(claimed: NotifyMessage, result: SendResult, now: datetime) -> dict[str, Any]:
    """The columns to set for ``result``: retry times, give-ups and delivery times."""
    values: dict[str, Any] = {"provider_id": result.provider_id or claimed.provider_id}
    sent_at = claimed.sent_at
    if claimed.provider_id is None and result.status in (SENDING, DELIVERED):
        sent_at = now
        values["sent_at"] = now
    if result.status == DELIVERED:
        values.update(status=DELIVERED, delivered_at=result.completed_at or now, last_error=None)
    elif result.status == SENDING:
        # Ask again after half the time since it was sent: soon at first, rarely later.
        since = now - (sent_at or now)
        if since > GIVE_UP_CHECKING:
            values.update(
                status=PERMANENT_FAILURE,
                last_error=f"no final status from the provider {since.days} days after sending",
            )
        else:
            wait = min(max(since / 2, FIRST_CHECK), MAX_CHECK)
            values.update(status=SENDING, next_attempt_at=now + wait, last_error=result.error)
    elif result.status == PERMANENT_FAILURE:
        values.update(status=PERMANENT_FAILURE, last_error=result.error)
    elif claimed.attempts >= MAX_ATTEMPTS:
        values.update(
            status=PERMANENT_FAILURE,
            last_error=f"gave up after {claimed.attempts} attempts; last: {result.error}",
        )
    else:
        values.update(
            status=result.status if result.status in RETRYABLE_STATUSES else TECHNICAL_FAILURE,
            next_attempt_at=now + backoff(claimed.attempts),
            last_error=result.error,
        )
    return values


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt, with up to 10% jitter.

    The jitter spreads out retries of messages that failed together (a provider outage).
    """
    base: timedelta = min(FIRST_RETRY * RETRY_GROWTH ** min(max(attempts - 1, 0), 8), MAX_RETRY)
    jitter_ms = secrets.randbelow(int(base.total_seconds() * 100) + 1)  # up to 10%
    return base + timedelta(milliseconds=jitter_ms)


def _waiting(sessions: sessionmaker[Session]) -> int:
    """Messages queued for later: safe-time waits, back-offs and deliveries not yet confirmed."""
    waiting = or_(
        _TABLE.c.status.in_((CREATED, SENDING)),
        and_(_TABLE.c.status.in_(RETRYABLE_STATUSES), _TABLE.c.attempts < MAX_ATTEMPTS),
    )
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(_TABLE).where(waiting)) or 0)
