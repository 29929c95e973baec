"""Outbound webhooks end to end: an event posted over the API is queued in its transaction and
sent, signed, to a real HTTP receiver on 127.0.0.1 -- retried, given up on, refused by the
sharing rules, stopped by deleting the subscription -- on SQLite and PostgreSQL.

Time is moved on by passing ``now`` to the worker; nothing sleeps except the receiver that
is slow on purpose to make an attempt time out.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from onestory.config import Settings
from onestory.domain.events import parse_event
from onestory.exchange import webhooks
from onestory.exchange.hmpps import from_hmpps
from onestory.exchange.intake import subscribe
from onestory.exchange.webhook_tables import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import Organisation
from onestory.store.base import utcnow
from onestory.web.app import create_app

ADMIN = Actor("user:1", "administrator", None, None)
URN = "01AB1234526"
COURT, WCU, CICA = "STRAMC", "WCU01", "CICA"
Headers = dict[str, str]
# A request without a body is not JSON, and web.csrf exempts only JSON from its check.
AS_JSON = {"Content-Type": "application/json"}


class Receiver:
    """A real HTTP server that answers from a script and checks every signature it gets."""

    def __init__(self) -> None:
        self.script: list[tuple[int, float]] = []  # (status, seconds to wait first)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.checks: list[str | None] = []  # None: the signature verified; else why not
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                try:
                    webhooks.verify_signature(
                        receiver.secret, self.headers.get(webhooks.SIGNATURE_HEADER), body
                    )
                    receiver.checks.append(None)
                except webhooks.SignatureError as exc:
                    receiver.checks.append(str(exc))
                status, delay = receiver.script.pop(0) if receiver.script else (200, 0.0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"thanks")
                except OSError:  # the sender gave up waiting (the time-out test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/onestory"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Made-up names and what they resolve to (none: no such name); others resolve as usual.

    A stand-in for DNS, so that a name can resolve to a public address, then to this machine.
    """
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real(host, port, *args, **kwargs)
        if not names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="x" * 48, notify_interval=0, webhook_interval=0
    )
    application = create_app(settings, engine=engine)
    # Until web.app wires them (see docs/exchange-webhooks.md), wire the outbox here.
    webhooks.use_policies(application.state.policies)
    subscribe(webhooks.on_event)
    with application.state.sessions() as session:
        session.add_all(
            [
                Organisation(code=COURT, name="Stratford Magistrates' Court", kind="court"),
                Organisation(code=WCU, name="London Witness Care Unit", kind="witness_care"),
                Organisation(code=CICA, name="CICA", kind="compensation"),
            ]
        )
        session.commit()
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def key(app: FastAPI, org: str, role: str, scopes: list[str]) -> Headers:
    with app.state.sessions() as session:
        _, plaintext = issue_key(
            session,
            actor=ADMIN,
            organisation_code=org,
            name=f"{org} system",
            role=role,
            scopes=scopes,
        )
        session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def listed() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "eventType": "court.hearing.listed",
        "version": 1,
        "occurredAt": "2026-03-02T10:00:00+00:00",
        "assertedBy": COURT,
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": {
            "hearing": {
                "hearingId": "H1",
                "caseUrn": URN,
                "court": COURT,
                "hearingType": "trial",
                "startsAt": "2026-04-02T10:00:00+01:00",
            },
            "defendantId": str(uuid.uuid4()),
        },
    }


def sentenced() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "eventType": "court.sentence.imposed",
        "version": 1,
        "occurredAt": "2026-05-29T12:26:00+01:00",
        "assertedBy": COURT,
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": {
            "sentence": {
                "caseUrn": URN,
                "sentenceType": "immediate_custody",
                "imposedAt": "2026-05-29T12:26:00+01:00",
                "custodyMonths": 8,
                "offenceCodes": ["TH68010"],
            },
            "defendantId": str(uuid.uuid4()),
        },
    }


def post_event(client: TestClient, court: Headers, event: dict[str, Any]) -> None:
    answer = client.post("/api/events?purpose=prosecution", json=event, headers=court)
    assert answer.status_code == 201, answer.text


def subscribe_wcu(
    client: TestClient, headers: Headers, receiver: Receiver, **changes: Any
) -> dict[str, Any]:
    asked = {
        "eventTypes": ["court.hearing.listed"],
        "targetUrl": receiver.url,
        "purpose": "witness_care",
        **changes,
    }
    answer = client.post("/api/subscriptions", json=asked, headers=headers)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    receiver.secret = made["secret"]
    return made


def run(app: FastAPI, now: datetime, **options: Any) -> webhooks.DeliveryReport:
    return webhooks.deliver_due(app.state.sessions, now=now, **options)


def delivery_rows(app: FastAPI) -> list[WebhookDelivery]:
    with app.state.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def attempt_rows(app: FastAPI) -> list[WebhookAttempt]:
    with app.state.sessions() as session:
        return list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def ledger(app: FastAPI, *types: str) -> list[tuple[LedgerEntry, dict[str, Any]]]:
    with app.state.sessions() as session:
        rows = session.execute(
            select(LedgerEntry, LedgerPayload.payload)
            .join(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
            .where(LedgerEntry.entry_type.in_(types))
            .order_by(LedgerEntry.seq)
        ).all()
    return [(entry, payload) for entry, payload in rows]


@pytest.fixture
def court(app: FastAPI) -> Headers:
    return key(app, COURT, "court_officer", ["create:hearing", "create:case"])


@pytest.fixture
def wcu(app: FastAPI) -> Headers:
    return key(app, WCU, "witness_care_officer", ["read:hearing"])


def test_an_event_is_delivered_first_time_signed_and_logged(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    made = subscribe_wcu(client, wcu, receiver)
    event = listed()
    post_event(client, court, event)
    queued = delivery_rows(app)
    assert [(d.event_id, d.status) for d in queued] == [(event["id"], PENDING)]

    report = run(app, utcnow())

    assert (report.attempted, report.delivered, report.waiting) == (1, 1, 0)
    assert receiver.checks == [None], "the receiver could not verify the signature"
    headers, body = receiver.requests[0]
    assert headers["X-OneStory-Event-Id"] == event["id"]
    assert headers["X-OneStory-Delivery-Id"] == queued[0].id
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert sent["event"]["id"] == event["id"]
    assert sent["allowedBy"] == "court-wcu-hearing-outcomes"
    assert delivery_rows(app)[0].status == DELIVERED
    [attempt] = attempt_rows(app)
    assert (attempt.attempt, attempt.status_code, attempt.outcome) == (1, 200, DELIVERED)
    assert attempt.duration_ms >= 0
    subjects = [
        {"kind": "event", "id": event["id"]},
        {"kind": "webhook_subscription", "id": made["id"]},
    ]
    [(queued_entry, _)] = ledger(app, webhooks.QUEUED)
    [(delivered_entry, payload)] = ledger(app, webhooks.DELIVERED_ENTRY)
    assert queued_entry.subjects == subjects and delivered_entry.subjects == subjects
    assert payload["statusCode"] == 200 and payload["recipient"] == WCU
    # The delivery log, as the subscriber reads it.
    log = client.get(f"/api/subscriptions/{made['id']}/deliveries", headers=wcu).json()
    assert log["deliveries"][0]["status"] == DELIVERED
    assert log["deliveries"][0]["attempts"][0]["statusCode"] == 200


def test_a_captured_request_cannot_be_replayed_or_altered(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())
    run(app, utcnow())
    headers, body = receiver.requests[0]
    header = headers[webhooks.SIGNATURE_HEADER]
    webhooks.verify_signature(receiver.secret, header, body)  # genuine, and fresh
    with pytest.raises(webhooks.SignatureError, match="outside the 300 s tolerance"):
        webhooks.verify_signature(receiver.secret, header, body, now=time.time() + 301)
    tampered = body.replace(b"trial", b"sentence")
    with pytest.raises(webhooks.SignatureError, match="does not match the body"):
        webhooks.verify_signature(receiver.secret, header, tampered)
    with pytest.raises(webhooks.SignatureError, match="does not match the body"):
        webhooks.verify_signature("whsec_another", header, body)
    with pytest.raises(webhooks.SignatureError, match="no X-OneStory-Signature header"):
        webhooks.verify_signature(receiver.secret, None, body)


def test_a_server_error_is_retried_after_a_back_off_then_delivered(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())
    receiver.script = [(500, 0.0), (200, 0.0)]
    start = utcnow()

    first = run(app, start)
    assert (first.attempted, first.retrying, first.waiting) == (1, 1, 1)
    [waiting] = delivery_rows(app)
    assert timedelta(seconds=30) <= waiting.next_attempt_at - start <= timedelta(seconds=33)
    assert run(app, start + timedelta(seconds=29)).attempted == 0  # not due yet
    second = run(app, start + timedelta(seconds=34))

    assert second.delivered == 1
    assert receiver.checks == [None, None]
    assert [(a.attempt, a.status_code, a.outcome) for a in attempt_rows(app)] == [
        (1, 500, "retry"),
        (2, 200, DELIVERED),
    ]
    [(_, failed)] = ledger(app, webhooks.FAILED_ENTRY)
    assert failed["final"] is False and failed["statusCode"] == 500
    assert len(ledger(app, webhooks.DELIVERED_ENTRY)) == 1


def test_an_attempt_that_times_out_is_retried(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())
    receiver.script = [(200, 2.0)]  # answers, but too late
    start = utcnow()

    first = run(app, start, timeout=0.5)
    second = run(app, start + timedelta(seconds=34), timeout=0.5)

    assert (first.retrying, second.delivered) == (1, 1)
    attempts = attempt_rows(app)
    assert attempts[0].status_code is None and attempts[0].error == "no answer within 0.5 s"
    assert 400 <= attempts[0].duration_ms < 2000
    assert attempts[1].outcome == DELIVERED


def test_a_410_fails_for_good_and_is_not_sent_again(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())
    receiver.script = [(410, 0.0)]
    start = utcnow()

    report = run(app, start)
    later = run(app, start + timedelta(days=1))

    assert (report.failed, later.attempted) == (1, 0)
    assert len(receiver.requests) == 1
    [delivery] = delivery_rows(app)
    assert delivery.status == FAILED and "410" in (delivery.last_error or "")
    [(_, failed)] = ledger(app, webhooks.FAILED_ENTRY)
    assert failed["final"] is True


def test_retries_stop_after_the_last_step_of_the_schedule(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())
    receiver.script = [(503, 0.0)] * 10
    now = utcnow()
    for _ in range(webhooks.MAX_ATTEMPTS + 2):
        run(app, now)
        now += timedelta(hours=7)

    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS == 6
    [delivery] = delivery_rows(app)
    assert delivery.status == FAILED
    assert (delivery.last_error or "").startswith("gave up after 6 attempts")
    finals = [p["final"] for _, p in ledger(app, webhooks.FAILED_ENTRY)]
    assert finals == [False] * 5 + [True]


def test_an_organisation_the_rules_do_not_allow_gets_nothing_and_the_refusal_is_ledgered(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers
) -> None:
    # An agreement lets CICA read cases for compensation, but only with the person's consent,
    # which an event naming no consenting person cannot carry: every event is refused.
    cica = key(app, CICA, "compensation_caseworker", ["read:case"])
    asked = {
        "eventTypes": ["court.sentence.imposed"],
        "targetUrl": receiver.url,
        "purpose": "compensation",
    }
    made = client.post("/api/subscriptions", json=asked, headers=cica)
    assert made.status_code == 201, made.text
    event = sentenced()
    post_event(client, court, event)

    assert delivery_rows(app) == []
    assert run(app, utcnow()).attempted == 0
    assert receiver.requests == []
    decisions = [
        (entry, payload)
        for entry, payload in ledger(app, "sharing.decision")
        if entry.purpose == "compensation"
    ]
    [(entry, payload)] = decisions
    assert entry.actor_org == CICA and entry.subjects == [{"kind": "case", "id": event["id"]}]
    assert payload["allowed"] is False and "consent" in payload["reason"]
    assert ledger(app, webhooks.QUEUED) == []


def test_an_agreement_that_ends_stops_deliveries_to_existing_subscriptions(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    # Every agreement that lets the unit read hearings for witness care comes to an end.
    granting = app.state.policies.lookup("witness_care_officer", "read", "hearing", "witness_care")
    ended = PolicySet([a for a in app.state.policies.agreements if a not in granting])
    webhooks.use_policies(ended)
    try:
        post_event(client, court, listed())
    finally:
        webhooks.use_policies(app.state.policies)
    assert delivery_rows(app) == []
    [(_, refusal)] = [
        (e, p) for e, p in ledger(app, "sharing.decision") if e.purpose == "witness_care"
    ]
    assert refusal["allowed"] is False


def test_deleting_a_subscription_cancels_what_is_queued_and_stops_new_deliveries(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    made = subscribe_wcu(client, wcu, receiver)
    post_event(client, court, listed())

    deleted = client.delete(f"/api/subscriptions/{made['id']}", headers=wcu | AS_JSON)
    post_event(client, court, listed())

    assert deleted.status_code == 200 and deleted.json()["active"] is False
    assert deleted.json()["deletedAt"] is not None
    assert [d.status for d in delivery_rows(app)] == [CANCELLED]
    assert run(app, utcnow() + timedelta(hours=1)).attempted == 0
    assert receiver.requests == []
    [(_, unsubscribed)] = ledger(app, webhooks.UNSUBSCRIBED)
    assert unsubscribed["cancelledDeliveries"] == 1
    # History stays: the subscription is listed, inactive, with its cancelled delivery.
    listed_now = client.get("/api/subscriptions", headers=wcu).json()["subscriptions"]
    assert [(s["id"], s["active"]) for s in listed_now] == [(made["id"], False)]


def test_an_hmpps_subscriber_is_sent_the_hmpps_envelope(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver, format="hmpps")
    event = listed()
    post_event(client, court, event)
    run(app, utcnow())

    [(_, body)] = receiver.requests
    sent = json.loads(body)
    assert sent["eventType"] == "onestory.court.hearing.listed"
    assert sent["additionalInformation"]["eventId"] == event["id"]
    assert parse_event(from_hmpps(sent)) == parse_event(event)
    assert receiver.checks == [None]


def test_subscribing_says_what_is_wrong(
    app: FastAPI, client: TestClient, receiver: Receiver, wcu: Headers
) -> None:
    def refused(headers: Headers, **changes: Any) -> tuple[int, dict[str, Any]]:
        asked = {
            "eventTypes": ["court.hearing.listed"],
            "targetUrl": receiver.url,
            "purpose": "witness_care",
            **changes,
        }
        answer = client.post("/api/subscriptions", json=asked, headers=headers)
        return answer.status_code, answer.json()["detail"]

    status, detail = refused(wcu, eventTypes=["court.hearing.listed", "court.hearing.booked"])
    assert (status, detail["field"]) == (422, "eventTypes.1")
    status, detail = refused(wcu, eventTypes=["court.sentence.imposed"])
    assert status == 403 and "scope read:case" in detail["problem"]
    status, detail = refused(wcu, purpose="prosecution")
    assert status == 403 and "no agreement lets a witness_care_officer" in detail["problem"]
    status, detail = refused(wcu, targetUrl="http://receiver.example.org/hooks")
    assert (status, detail["field"]) == (422, "targetUrl")
    status, detail = refused(wcu, format="xml")
    assert (status, detail["field"]) == (422, "format")

    port = receiver.server.server_address[1]
    with_token = f"http://hook:pw@127.0.0.1:{port}/hooks/onestory?token=s3cret#top"
    made = subscribe_wcu(client, wcu, receiver, targetUrl=with_token)
    other = key(app, WCU, "witness_care_officer", ["read:hearing"])
    assert client.get(f"/api/subscriptions/{made['id']}", headers=other).status_code == 404
    assert (
        client.delete(f"/api/subscriptions/{made['id']}", headers=other | AS_JSON).status_code
        == 404
    )
    shown = client.get(f"/api/subscriptions/{made['id']}", headers=wcu).json()
    assert "secret" not in shown and shown["eventTypes"] == ["court.hearing.listed"]
    [(entry, subscribed)] = ledger(app, webhooks.SUBSCRIBED)
    assert entry.actor_org == WCU
    # The ledger keeps only scheme://host:port/path: no userinfo, query or fragment.
    assert subscribed["targetUrl"] == receiver.url
    ledgered = json.dumps(subscribed)
    assert all(part not in ledgered for part in ("s3cret", "hook:pw", "?token", "#top"))


def test_target_urls_are_https_in_production(dns: dict[str, list[str]]) -> None:
    dns["wcu.example.org"] = ["93.184.215.14"]
    check = webhooks.check_target_url
    assert check("https://wcu.example.org/hooks", production=True)
    assert check("http://127.0.0.1:9000/hooks", production=False)
    assert check("http://localhost/hooks", production=False)
    for url in ("http://wcu.example.org/hooks", "https://127.0.0.1/hooks", "https://10.0.0.8/"):
        with pytest.raises(webhooks.WebhookError):
            check(url, production=True)
    with pytest.raises(webhooks.WebhookError, match="plain http is allowed only"):
        check("http://wcu.example.org/hooks", production=False)


def test_in_production_a_target_must_resolve_to_public_addresses_only(
    dns: dict[str, list[str]],
) -> None:
    check = webhooks.check_target_url
    dns["internal.example.org"] = ["10.1.2.3"]
    dns["split.example.org"] = ["93.184.215.14", "192.168.0.7"]  # every address must be public
    dns["v6.example.org"] = ["::ffff:127.0.0.1"]
    refused = {
        "https://localhost/hooks": "127.0.0.1",
        "https://2130706433/": "127.0.0.1",  # 127.0.0.1 as one number
        "https://0x7f.1/": "127.0.0.1",  # and in hex
        "https://100.64.0.1/": "100.64.0.1",  # carrier-grade NAT
        "https://169.254.169.254/latest/meta-data": "169.254.169.254",  # the metadata service
        "https://[::1]/": "::1",
        "https://internal.example.org/hooks?token=s3cret": "10.1.2.3",
        "https://split.example.org/": "192.168.0.7",
        "https://v6.example.org/": "::ffff:127.0.0.1",
    }
    for url, address in refused.items():
        with pytest.raises(webhooks.WebhookError) as caught:
            check(url, production=True)
        message = str(caught.value)
        assert f"resolves to {address}, which is not a public address" in message, url
        assert webhooks.redact_url(url) in message and "s3cret" not in message
        assert caught.value.where == "targetUrl"
    with pytest.raises(webhooks.WebhookError, match="https only"):
        check("http://2130706433/", production=True)
    dns["gone.example.org"] = []
    with pytest.raises(webhooks.WebhookError, match=r"gone\.example\.org could not be resolved"):
        check("https://gone.example.org/hooks", production=True)

    dns["hooks.example.org"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    url = "https://hooks.example.org:8443/onestory?token=s3cret"
    assert check(url, production=True) == url
    # Outside production, as before: no resolving, and http to this machine for tests.
    assert check("https://internal.example.org/hooks", production=False)


def _retarget(app: FastAPI, url: str) -> None:
    with app.state.sessions() as session:
        session.execute(update(WebhookSubscription).values(target_url=url))
        session.commit()


def test_in_production_a_target_that_now_resolves_to_this_machine_is_not_contacted(
    app: FastAPI,
    client: TestClient,
    receiver: Receiver,
    court: Headers,
    wcu: Headers,
    dns: dict[str, list[str]],
) -> None:
    made = subscribe_wcu(client, wcu, receiver)
    # Accepted in production while the name resolves to a public address ...
    dns["hooks.example.org"] = ["93.184.215.14"]
    webhooks.check_target_url("https://hooks.example.org/hooks", production=True)
    # ... then the name is pointed at this machine, where the receiver listens (plain http,
    # as the receiver speaks no TLS: the worker's check is about addresses, not the scheme).
    dns["hooks.example.org"] = ["127.0.0.1"]
    port = receiver.server.server_address[1]
    _retarget(app, f"http://hooks.example.org:{port}/hooks/onestory?token=s3cret")
    post_event(client, court, listed())

    report = run(app, utcnow(), production=True)

    assert (report.attempted, report.failed, report.waiting) == (1, 1, 0)
    assert receiver.requests == [], "a target that resolves to 127.0.0.1 was contacted"
    [delivery] = delivery_rows(app)
    assert delivery.status == FAILED
    [attempt] = attempt_rows(app)
    assert (attempt.status_code, attempt.outcome) == (None, FAILED)
    error = attempt.error or ""
    assert error.startswith(f"not sent: http://hooks.example.org:{port}/hooks/onestory ")
    assert "resolves to 127.0.0.1, which is not a public address" in error
    assert "will not be sent again" in error and "s3cret" not in error
    [(_, failed)] = ledger(app, webhooks.FAILED_ENTRY)
    assert failed["final"] is True and failed["error"] == error
    log = client.get(f"/api/subscriptions/{made['id']}/deliveries", headers=wcu).json()
    assert log["deliveries"][0]["attempts"][0]["error"] == error

    # Outside production the same name is sent to: the check above is what stopped it.
    post_event(client, court, listed())
    assert run(app, utcnow(), production=False).delivered == 1
    assert len(receiver.requests) == 1


def test_in_production_a_public_target_is_sent_to_and_a_name_that_does_not_resolve_is_retried(
    app: FastAPI,
    client: TestClient,
    receiver: Receiver,
    court: Headers,
    wcu: Headers,
    dns: dict[str, list[str]],
) -> None:
    subscribe_wcu(client, wcu, receiver)
    _retarget(app, "https://hooks.example.org/hooks/onestory")
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(204)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    dns["hooks.example.org"] = []  # no such name, for now: retried, as a connection error is
    post_event(client, court, listed())
    start = utcnow()
    first = run(app, start, production=True, client=http)
    assert (first.retrying, sent) == (1, [])
    assert "hooks.example.org could not be resolved" in (attempt_rows(app)[0].error or "")

    dns["hooks.example.org"] = ["93.184.215.14"]
    second = run(app, start + timedelta(seconds=34), production=True, client=http)
    assert second.delivered == 1
    assert sent == ["https://hooks.example.org/hooks/onestory"]


def test_the_back_off_grows_with_jitter_of_at_most_a_tenth() -> None:
    for attempts, base in enumerate(webhooks.RETRY_SCHEDULE, start=1):
        waits = {webhooks.backoff(attempts) for _ in range(20)}
        assert all(base <= wait <= base * 1.1 for wait in waits)
        assert len(waits) > 1, "no jitter"


def test_two_workers_at_once_send_each_delivery_exactly_once(
    app: FastAPI, client: TestClient, receiver: Receiver, court: Headers, wcu: Headers
) -> None:
    subscribe_wcu(client, wcu, receiver)
    for _ in range(12):
        post_event(client, court, listed())
    now = utcnow()
    reports: list[webhooks.DeliveryReport] = []

    def worker() -> None:
        reports.append(run(app, now))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    sent = [headers[webhooks.DELIVERY_HEADER] for headers, _ in receiver.requests]
    assert len(sent) == len(set(sent)) == 12
    assert sum(r.delivered for r in reports) == 12
    assert {d.status for d in delivery_rows(app)} == {DELIVERED}
    assert len(attempt_rows(app)) == 12
