"""Outbound webhooks: agency systems subscribe to event types and are sent each new event.

Three steps, like ``notify``. When an event is stored, ``on_event`` (an intake subscriber, so
inside the event's transaction) asks the sharing rules, once per matching subscription, whether
the subscriber's organisation may read that kind of record for the subscription's purpose, and
queues a delivery only when they allow it; the decision, allowed or refused, is ledgered by
``sharing.authorize`` and the queued delivery by its own entry, all in that transaction. Later,
``deliver_due`` claims one delivery at a time (a short transaction and a lease, as
``notify.worker`` does), POSTs it with no transaction open, and records the attempt, its log
row and its ledger entry in one new transaction.

Each request is signed: ``X-OneStory-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``f"{t}."`` followed by the body, with the subscription's secret. Receivers check it with
``verify_signature``, which also refuses old timestamps, so a captured request cannot be
replayed later. A 2xx answer is delivered; 4xx other than 408 and 429 (and any redirect) is a
permanent failure the subscriber must fix; anything else is retried with back-off and jitter.

In production a target URL must be https and its host must resolve only to global addresses,
checked when the subscription is made and again before every attempt (the name may since
resolve elsewhere); the ledger records only ``scheme://host[:port]/path`` of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
from sqlalchemy import Table, and_, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from onestory.domain.events import EventEnvelope, registered_event_types
from onestory.exchange.hmpps import to_hmpps
from onestory.exchange.intake import EVENT_RECORD_KINDS
from onestory.exchange.webhook_tables import (
    CANCELLED,
    DELIVERED,
    DELIVERING,
    FAILED,
    FORMATS,
    HMPPS_FORMAT,
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from onestory.ledger.entries import Subject
from onestory.ledger.log import append, append_at_commit
from onestory.sharing.authorize import RecordRef, authorize
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.policy import PolicySet, load_policies
from onestory.sharing.vocabulary import Action, Purpose
from onestory.store.base import utcnow

logger = logging.getLogger(__name__)

SUBSCRIBED = "exchange.webhook.subscribed"
UNSUBSCRIBED = "exchange.webhook.unsubscribed"
QUEUED = "exchange.webhook.queued"
DELIVERED_ENTRY = "exchange.webhook.delivered"
FAILED_ENTRY = "exchange.webhook.failed"
ACTOR = "system:webhooks"

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SIGNATURE_HEADER = "X-OneStory-Signature"
EVENT_HEADER = "X-OneStory-Event-Id"
DELIVERY_HEADER = "X-OneStory-Delivery-Id"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

# Waits after the 1st..5th failed attempt; the 6th failure is final (about 7.2 hours in all).
RETRY_SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
ATTEMPT_TIMEOUT_SECONDS = 10.0
LEASE = timedelta(minutes=5)  # a claim older than this belongs to a worker that died
RETRYABLE_4XX = frozenset({408, 429})
LOOPBACK_HOSTS = frozenset({"localhost"})

_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_SUBSCRIPTIONS = cast(Table, WebhookSubscription.__table__)
_policies: PolicySet | None = None


class WebhookError(ValueError):
    """A subscription that cannot be made or changed as asked; ``where`` is the field."""

    def __init__(self, message: str, *, where: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.where = where
        self.status = status


class SignatureError(ValueError):
    """A webhook request whose signature does not prove it came from OneStory, and why."""


# ---- subscriptions ------------------------------------------------------------------------


def check_target_url(url: str, *, production: bool) -> str:
    """``url`` if deliveries may go there: https, or http to this machine outside production.

    In production the host is resolved now and refused unless every address it resolves to is
    a global (public) one, so a subscription cannot point OneStory at its own internal
    services, the cloud metadata service or a carrier-grade NAT range, whether by a literal
    address, a numeric form such as ``2130706433`` or ``0x7f.1``, or a name. The worker checks
    again before each attempt (``deliver_due``), as the name may since resolve elsewhere.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError(f"{url!r} is not an https:// URL", where="targetUrl")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise WebhookError(f"{url!r} has a port that is not a number", where="targetUrl") from None
    host = parts.hostname
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = host in LOOPBACK_HOSTS or (address is not None and address.is_loopback)
    if production:
        if parts.scheme != "https":
            raise WebhookError("deliveries go over https only", where="targetUrl")
        problem = non_global_target(url.strip())
        if problem is not None:
            raise WebhookError(
                f"{problem}; give the public address your system is reached at",
                where="targetUrl",
            )
    elif parts.scheme == "http" and not loopback:
        raise WebhookError(
            "use https; plain http is allowed only to this machine (localhost, 127.0.0.1) "
            "outside production",
            where="targetUrl",
        )
    return url.strip()


def non_global_target(url: str) -> str | None:
    """Why ``url``'s host may not be sent to, or None if every address it resolves to is global.

    The host is resolved with ``socket.getaddrinfo`` (which also reads numeric forms such as
    ``2130706433`` and ``0x7f.1`` as the addresses they are); one address that is not
    ``is_global`` (loopback, private, link-local and so the metadata service, carrier-grade
    NAT 100.64.0.0/10, unspecified, reserved ...) is enough to refuse. The message names the
    URL without its userinfo, query or fragment (see ``redact_url``), so it can be logged.
    """
    problem = _target_problem(url)
    return None if problem is None else problem[0]


def _target_problem(url: str) -> tuple[str, bool] | None:
    """``non_global_target``'s message, and whether it is lasting (False: it did not resolve)."""
    parts = urlsplit(url)
    shown = redact_url(url)
    host = parts.hostname
    if not host:
        return f"{shown} names no host", True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        return f"{shown}: the host {host} could not be resolved ({exc})", False
    addresses = sorted({str(info[4][0]) for info in found})
    if not addresses:
        return f"{shown}: the host {host} resolves to no address", False
    for text in addresses:
        if not _is_global(text):
            return (
                f"{shown} resolves to {text}, which is not a public address (loopback, "
                "private, link-local, carrier-grade NAT or reserved)",
                True,
            )
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_global(text: str) -> bool:
    """``text`` is a global address, and so is any IPv4 address it carries inside it."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:  # e.g. an IPv6 scope id on an old Python: not one we can vouch for
        return False
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner: list[ipaddress.IPv4Address | None] = [address.ipv4_mapped, address.sixtofour]
        if address.teredo is not None:
            inner.extend(address.teredo)
        if address in _NAT64:
            inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(v4.is_global for v4 in inner if v4 is not None)
    return True


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no userinfo, query or fragment.

    Receivers often put a token in the query string or the userinfo, and what is ledgered or
    logged stays: only this much of a target URL is written there.
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def create_subscription(
    session: Session,
    *,
    client: ApiClient,
    event_types: Sequence[str],
    target_url: str,
    format: str,
    purpose: str,
    policies: PolicySet,
    production: bool,
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``client`` to ``event_types``; the secret is returned here and never again.

    Each event type must be one the client's key may ask to read (``read:<record kind>``) and
    one an agreement could let its role read for ``purpose``; otherwise no event of it could
    ever be delivered, and saying so now is kinder than silence later. The caller commits.
    """
    session.info.pop(_ACTIVE, None)
    if format not in FORMATS:
        raise WebhookError(f"format must be one of {', '.join(FORMATS)}", where="format")
    if purpose not in set(Purpose):
        raise WebhookError(f"{purpose!r} is not a purpose", where="purpose")
    known = {spec.name for spec in registered_event_types()}
    wanted = sorted(set(event_types))
    if not wanted:
        raise WebhookError("name at least one event type", where="eventTypes")
    actor = client_actor(client)
    for index, name in enumerate(event_types):
        where = f"eventTypes.{index}"
        if name not in known:
            raise WebhookError(f"{name!r} is not an event type (see /api/schemas)", where=where)
        kind = EVENT_RECORD_KINDS.get(name)
        if kind is None:
            raise WebhookError(f"{name} events are not shared through webhooks", where=where)
        needed = scope(Action.READ, kind)
        if needed not in client.scopes:
            raise WebhookError(
                f"this key may not read {kind} records, so it cannot subscribe to {name}: ask "
                f"your administrator for a key with the scope {needed}",
                where=where,
                status=403,
            )
        if not policies.lookup(actor.role, Action.READ, kind, purpose):
            raise WebhookError(
                f"no agreement lets a {actor.role} read {kind} records for {purpose}, so {name} "
                "events would never be sent to you",
                where=where,
                status=403,
            )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        id=str(uuid.uuid4()),
        api_client_id=client.id,
        organisation_id=client.organisation_id,
        event_types=wanted,
        target_url=check_target_url(target_url, production=production),
        format=format,
        purpose=str(purpose),
        secret=secret,
        active=True,
    )
    session.add(subscription)
    session.flush()
    append(
        session,
        entry_type=SUBSCRIBED,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=str(purpose),
        subjects=[Subject("webhook_subscription", subscription.id)],
        payload={
            "eventTypes": wanted,
            # Never the whole URL: a token in its query or userinfo would stay in the ledger.
            "targetUrl": redact_url(subscription.target_url),
            "format": format,
            "purpose": str(purpose),
        },
    )
    return subscription, secret


def subscriptions_of(session: Session, client: ApiClient) -> list[WebhookSubscription]:
    """The client's subscriptions, newest first, deleted ones included (their history stays)."""
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.api_client_id == client.id)
            .order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id)
        )
    )


def subscription_of(
    session: Session, client: ApiClient, subscription_id: str
) -> WebhookSubscription:
    """The client's subscription ``subscription_id``; 404 for another client's, as for none."""
    found = session.get(WebhookSubscription, subscription_id)
    if found is None or found.api_client_id != client.id:
        raise WebhookError("no such subscription for this key", where="id", status=404)
    return found


def delete_subscription(
    session: Session, *, client: ApiClient, subscription_id: str
) -> WebhookSubscription:
    """Stop a subscription: nothing more is queued, and nothing still queued is sent.

    The row stays (inactive), with its deliveries and their log. The caller commits.
    """
    subscription = subscription_of(session, client, subscription_id)
    if not subscription.active:
        return subscription
    session.info.pop(_ACTIVE, None)
    now = utcnow()
    # Write first (SQLite takes its write lock here), then ledger.
    session.execute(
        update(_SUBSCRIPTIONS)
        .where(_SUBSCRIPTIONS.c.id == subscription.id)
        .values(active=False, deleted_at=now)
    )
    cancelled = session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.subscription_id == subscription.id, _DELIVERIES.c.status == PENDING)
        .values(status=CANCELLED, last_error="the subscription was deleted")
    ).rowcount  # type: ignore[attr-defined]
    actor = client_actor(client)
    append(
        session,
        entry_type=UNSUBSCRIBED,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        subjects=[Subject("webhook_subscription", subscription.id)],
        payload={"cancelledDeliveries": int(cancelled or 0)},
    )
    session.refresh(subscription)
    return subscription


def deliveries_of(
    session: Session, subscription: WebhookSubscription, *, limit: int = 100
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The newest deliveries of a subscription, each with its attempts, oldest attempt first."""
    deliveries = list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
        )
    )
    attempts: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for row in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.attempt)
        ):
            attempts[row.delivery_id].append(row)
    return [(d, attempts[d.id]) for d in deliveries]


# ---- the outbox: queued in the event's transaction ----------------------------------------


def use_policies(policies: PolicySet) -> None:
    """The agreements ``on_event`` decides by (the web application's, set at start-up)."""
    global _policies
    _policies = policies


def _current_policies() -> PolicySet:
    global _policies
    if _policies is None:
        # Outside the web application (a CLI load, a script): the configured agreements.
        from onestory.config import get_settings

        _policies = load_policies(get_settings().policies_dir)
    return _policies


# session.info key: (the transaction, its active subscriptions), so that a bulk file's events
# ask the database once per chunk, not once each.
_ACTIVE = "onestory.webhooks.active"


def _active_subscriptions(session: Session) -> list[WebhookSubscription]:
    transaction = session.get_transaction()
    cached = session.info.get(_ACTIVE)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return list(cached[1])
    active = list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        )
    )
    session.info[_ACTIVE] = (transaction, active)
    return active


def on_event(session: Session, event: EventEnvelope[Any]) -> None:
    """Intake subscriber: queue the event for every active subscription the rules allow."""
    subscriptions = [
        s
        for s in _active_subscriptions(session)
        if event.event_type in s.event_types and s.api_client.revoked_at is None
    ]
    if not subscriptions:
        return
    policies = _current_policies()
    kind = EVENT_RECORD_KINDS.get(event.event_type)
    event_id = str(event.id)
    envelope = event.model_dump(mode="json")
    now = utcnow()
    hmpps_body: str | None = None
    for subscription in subscriptions:
        if kind is None:  # never allowed at subscription time; deny by default all the same
            continue
        actor = client_actor(subscription.api_client)
        decision = authorize(
            session,
            actor=actor,
            action=Action.READ,
            record=RecordRef(kind, event_id),
            purpose=subscription.purpose,
            justification=f"webhook subscription {subscription.id}",
            policies=policies,
        )
        if not decision.allowed:
            continue
        if subscription.format == HMPPS_FORMAT:
            if hmpps_body is None:
                hmpps_body = _dumps(to_hmpps(event, published_at=now))
            body = hmpps_body
        else:
            body = _dumps({"event": envelope, "allowedBy": decision.rule})
        delivery = WebhookDelivery(
            id=str(uuid.uuid4()),
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=event.event_type,
            body=body,
            allowed_by=decision.rule,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        append_at_commit(
            session,
            entry_type=QUEUED,
            actor=ACTOR,
            actor_org=actor.organisation_code,
            purpose=subscription.purpose,
            subjects=[Subject("event", event_id), Subject("webhook_subscription", subscription.id)],
            payload={
                "delivery": delivery.id,
                "recipient": actor.organisation_code,
                "format": subscription.format,
                "allowedBy": decision.rule,
            },
        )
    session.flush()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---- signatures ---------------------------------------------------------------------------


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-OneStory-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received webhook's signature; raise ``SignatureError`` saying why it fails.

    For receivers: pass the raw body bytes as received (not re-encoded JSON). A timestamp more
    than ``tolerance_seconds`` from ``now`` (default: the clock) is refused, so a captured
    request replayed later is refused even though its signature is genuine.
    """
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"the timestamp {value!r} is not unix seconds") from None
        elif key == SIGNATURE_VERSION:
            candidates.append(value)
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp (t=...)")
    if not candidates:
        raise SignatureError(f"the signature header has no {SIGNATURE_VERSION}= signature")
    clock = time.time() if now is None else now
    age = clock - timestamp
    if abs(age) > tolerance_seconds:
        raise SignatureError(
            f"the timestamp is {abs(age):.0f} s {'old' if age > 0 else 'in the future'}, "
            f"outside the {tolerance_seconds} s tolerance: refused as a possible replay"
        )
    expected = signature(secret, body, timestamp).partition(f"{SIGNATURE_VERSION}=")[2]
    # Check every candidate, so the time taken does not say which one nearly matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    if not matched:
        raise SignatureError(
            "the signature does not match the body: it was changed, or signed with another secret"
        )


# ---- the worker ---------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one run did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0

    def __str__(self) -> str:
        return (
            f"{self.attempted} attempted, {self.delivered} delivered, {self.failed} failed, "
            f"{self.retrying} to retry, {self.waiting} waiting"
        )


@dataclass(frozen=True)
class _Claimed:
    id: str
    subscription_id: str
    event_id: str
    body: str
    attempts: int
    target_url: str
    secret: str
    recipient: str | None


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: timedelta | None = None
    refused: bool = False  # not sent: the target is not a public address (production)


def deliver_due(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    limit: int = 100,
    timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    production: bool | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` deliveries that are due at ``now``, each once.

    In ``production`` (default: ``ONESTORY_ENV`` is ``production``) each target is resolved
    again just before each attempt and is not contacted unless every address is global: a
    name that resolved to a public address when the subscription was made may no longer.
    """
    now = now or utcnow()
    if production is None:
        from onestory.config import get_settings

        production = get_settings().env == "production"
    report = DeliveryReport()
    own_client = client is None
    http = client or httpx.Client(follow_redirects=False)
    try:
        for _ in range(limit):
            claimed = _claim(sessions, now)
            if claimed is None:
                break
            result = _send(http, claimed, timeout, production=production)
            report.attempted += 1
            final = _record(sessions, claimed, result, now)
            if final == DELIVERED:
                report.delivered += 1
            elif final == FAILED:
                report.failed += 1
            elif final == PENDING:
                report.retrying += 1
    finally:
        if own_client:
            http.close()
    report.waiting = _waiting(sessions)
    return report


async def deliver_every(
    interval: float, sessions: sessionmaker[Session], *, production: bool | None = None
) -> None:
    """Deliver every ``interval`` seconds until cancelled (the web server's lifespan task).

    ``production`` as for ``deliver_due``.
    """
    if interval <= 0:
        return
    while True:
        try:
            report = await asyncio.to_thread(deliver_due, sessions, production=production)
            if report.attempted:
                logger.info("webhooks: %s", report)
        except Exception:  # one bad run must not stop delivery for good
            logger.exception("webhooks: a delivery run failed; trying again in %s s", interval)
        await asyncio.sleep(interval)


def _due(table: Any, now: datetime) -> Any:
    active = exists().where(
        _SUBSCRIPTIONS.c.id == table.c.subscription_id, _SUBSCRIPTIONS.c.active.is_(True)
    )
    return and_(
        table.c.next_attempt_at <= now,
        table.c.status.in_((PENDING, DELIVERING)),  # DELIVERING here: a lapsed lease
        active,
    )


def _claim(sessions: sessionmaker[Session], now: datetime) -> _Claimed | None:
    """Claim the most overdue delivery, with what sending it needs; None if none is due."""
    # An alias, so the subquery reads the table afresh rather than correlating to the UPDATE.
    due = _DELIVERIES.alias("due")
    chosen = (
        select(due.c.id)
        .where(_due(due, now))
        .order_by(due.c.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id == chosen)
        .values(status=DELIVERING, attempts=_DELIVERIES.c.attempts + 1, next_attempt_at=now + LEASE)
        .returning(*_DELIVERIES.c)
    )
    with sessions() as session, session.begin():
        row = session.execute(statement).mappings().first()
        if row is None:
            return None
        subscription = session.get(WebhookSubscription, row["subscription_id"])
        assert subscription is not None  # a foreign key
        return _Claimed(
            id=row["id"],
            subscription_id=row["subscription_id"],
            event_id=row["event_id"],
            body=row["body"],
            attempts=row["attempts"],
            target_url=subscription.target_url,
            secret=subscription.secret,
            recipient=subscription.organisation.code,
        )


def _send(http: httpx.Client, claimed: _Claimed, timeout: float, *, production: bool) -> _Result:
    """Post the delivery; in production only once its target is found to be public still."""
    if production:
        started = time.perf_counter()
        problem = _target_problem(claimed.target_url)
        if problem is not None:
            message, lasting = problem
            logger.warning("webhooks: delivery %s not sent: %s", claimed.id, message)
            return _Result(None, f"not sent: {message}", _ms(started), refused=lasting)
    return _post(http, claimed, timeout)


def _post(http: httpx.Client, claimed: _Claimed, timeout: float) -> _Result:
    body = claimed.body.encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: claimed.event_id,
        DELIVERY_HEADER: claimed.id,
        SIGNATURE_HEADER: signature(claimed.secret, body, int(time.time())),
        "User-Agent": "OneStory-Webhooks/1",
    }
    started = time.perf_counter()
    try:
        response = http.post(claimed.target_url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return _Result(None, f"no answer within {timeout:g} s", _ms(started))
    except httpx.HTTPError as exc:
        return _Result(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
    except Exception as exc:  # a client bug must fail one attempt, not the run
        logger.exception("webhooks: sending delivery %s raised", claimed.id)
        return _Result(None, f"sending raised {type(exc).__name__}", _ms(started))
    return _Result(response.status_code, None, _ms(started), _retry_after(response))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after", "")
    return timedelta(seconds=int(value)) if value.isdigit() else None


def _outcome(claimed: _Claimed, result: _Result, now: datetime) -> tuple[str, dict[str, Any]]:
    """The delivery's new status and the columns to set."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return DELIVERED, {"status": DELIVERED, "delivered_at": now, "last_error": None}
    error = result.error or f"the receiver answered {code}"
    if result.refused:
        return FAILED, {
            "status": FAILED,
            "last_error": f"{error}; it will not be sent again: update the subscription's URL",
        }
    if code is not None and (
        300 <= code < 400 or (400 <= code < 500 and code not in RETRYABLE_4XX)
    ):
        reason = (
            "redirects are not followed: update the subscription's URL"
            if code < 400
            else "the receiver refused it; it will not be sent again"
        )
        return FAILED, {"status": FAILED, "last_error": f"{error}: {reason}"}
    if claimed.attempts >= MAX_ATTEMPTS:
        return FAILED, {
            "status": FAILED,
            "last_error": f"gave up after {claimed.attempts} attempts; last: {error}",
        }
    wait = backoff(claimed.attempts)
    if result.retry_after is not None:
        wait = min(max(wait, result.retry_after), RETRY_SCHEDULE[-1])
    return PENDING, {"status": PENDING, "next_attempt_at": now + wait, "last_error": error}


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt, plus up to 10% jitter.

    The jitter spreads out the retries of deliveries that failed together (a receiver outage).
    """
    base = RETRY_SCHEDULE[min(max(attempts, 1), len(RETRY_SCHEDULE)) - 1]
    jitter_ms = secrets.randbelow(int(base.total_seconds() * 100) + 1)  # up to 10%
    return base + timedelta(milliseconds=jitter_ms)


def _ours(claimed: _Claimed) -> Any:
    """The row is still as we claimed it (no other worker took it over after the lease)."""
    return and_(
        _DELIVERIES.c.id == claimed.id,
        _DELIVERIES.c.status == DELIVERING,
        _DELIVERIES.c.attempts == claimed.attempts,
    )


def _record(
    sessions: sessionmaker[Session], claimed: _Claimed, result: _Result, now: datetime
) -> str | None:
    """Store the attempt, its log row and its ledger entry; None if another worker took over."""
    status, values = _outcome(claimed, result, now)
    with sessions() as session, session.begin():
        # Write first: on SQLite this takes the write lock before anything is read.
        changed = session.execute(update(_DELIVERIES).where(_ours(claimed)).values(**values))
        if not changed.rowcount:  # type: ignore[attr-defined]
            logger.warning("webhooks: delivery %s was taken over by another worker", claimed.id)
            return None
        outcome = status if status != PENDING else "retry"
        session.add(
            WebhookAttempt(
                delivery_id=claimed.id,
                attempt=claimed.attempts,
                attempted_at=now,
                status_code=result.status_code,
                error=None if status == DELIVERED else values["last_error"],
                duration_ms=result.duration_ms,
                outcome=outcome,
            )
        )
        session.flush()
        payload: dict[str, Any] = {
            "delivery": claimed.id,
            "recipient": claimed.recipient,
            "attempt": claimed.attempts,
            "statusCode": result.status_code,
            "durationMs": result.duration_ms,
        }
        if status != DELIVERED:
            payload["error"] = values["last_error"]
            payload["final"] = status == FAILED
            if status == PENDING:
                payload["retryAt"] = values["next_attempt_at"].isoformat()
        append(
            session,
            entry_type=DELIVERED_ENTRY if status == DELIVERED else FAILED_ENTRY,
            actor=ACTOR,
            actor_org=claimed.recipient,
            subjects=[
                Subject("event", claimed.event_id),
                Subject("webhook_subscription", claimed.subscription_id),
            ],
            payload=payload,
        )
    return status


def _waiting(sessions: sessionmaker[Session]) -> int:
    """Deliveries queued for later: new ones, back-offs and claims not yet recorded."""
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(_DELIVERIES)
                .where(_DELIVERIES.c.status.in_((PENDING, DELIVERING)))
            )
            or 0
        )
