"""The GOV.UK Notify channel against a local stand-in of the Notify v2 API.

The stand-in checks the client's JWT as Notify does (HS256 with the key's secret, ``iss`` the
service id, ``iat`` within 30 seconds), so a wrong key is refused the way Notify refuses it.
"""

from __future__ import annotations

import json
import threading
import time as clock
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from notify_helpers import queue, reload
from sqlalchemy.orm import Session, sessionmaker

from conftest import SATURDAY_NOON, RecordingHook
from onestory.config import ConfigurationError
from onestory.notify import worker
from onestory.notify.channels import GovukNotifyChannel
from onestory.notify.worker import deliver_due

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"onestory_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE = str(uuid.uuid4())
SMS_TEMPLATE = str(uuid.uuid4())


class NotifyStandIn:
    """The parts of Notify's API the channel uses, with statuses and failures set by the test."""

    def __init__(self) -> None:
        self.notifications: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.fail_next_post: int | None = None
        self.fail_gets: int | None = None
        self.lock = threading.Lock()

    def set_status(self, notification_id: str, status: str) -> None:
        self.notifications[notification_id]["status"] = status

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(header[7:], SECRET, algorithms=["HS256"], leeway=30)
        except jwt.InvalidTokenError:
            return False
        return claims.get("iss") == SERVICE_ID and abs(clock.time() - claims["iat"]) <= 30


def make_handler(state: NotifyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, code: int, kind: str, message: str) -> None:
            self.reply(code, {"status_code": code, "errors": [{"error": kind, "message": message}]})

        def do_POST(self) -> None:
            if not state.authorised(self.headers.get("Authorization")):
                return self.error(403, "AuthError", "Invalid token: API key not found")
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            kind = self.path.rsplit("/", 1)[-1]
            if self.path not in ("/v2/notifications/email", "/v2/notifications/sms"):
                return self.error(404, "NotFound", self.path)
            with state.lock:
                state.posts.append({"type": kind, **body})
                failure, state.fail_next_post = state.fail_next_post, None
            if failure == 400:
                return self.error(400, "BadRequestError", "email_address Not a valid email")
            if failure:
                return self.error(failure, "Exception", "Internal server error")
            notification_id = str(uuid.uuid4())
            state.notifications[notification_id] = {
                "id": notification_id,
                "reference": body.get("reference"),
                "type": kind,
                "status": "created",
                "completed_at": None,
            }
            self.reply(201, {"id": notification_id, "reference": body.get("reference")})

        def do_GET(self) -> None:
            if not state.authorised(self.headers.get("Authorization")):
                return self.error(403, "AuthError", "Invalid token: API key not found")
            if state.fail_gets:
                return self.error(state.fail_gets, "Exception", "Internal server error")
            url = urlparse(self.path)
            if url.path == "/v2/notifications":
                wanted = parse_qs(url.query).get("reference", [None])[0]
                found = [n for n in state.notifications.values() if n["reference"] == wanted]
                return self.reply(200, {"notifications": found, "links": {}})
            notification = state.notifications.get(url.path.rsplit("/", 1)[-1])
            if notification is None:
                return self.error(404, "NoResultFound", "No result found")
            self.reply(200, notification)

    return Handler


@pytest.fixture
def notify() -> Iterator[tuple[NotifyStandIn, str]]:
    state = NotifyStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def channel(base_url: str, api_key: str = API_KEY) -> GovukNotifyChannel:
    return GovukNotifyChannel(api_key, base_url, EMAIL_TEMPLATE, SMS_TEMPLATE, timeout=5)


def test_send_then_check_until_delivered(
    sessions: sessionmaker[Session],
    notify: tuple[NotifyStandIn, str],
    hook: RecordingHook,
) -> None:
    state, url = notify
    message = queue(sessions, now=SATURDAY_NOON, key="story:9:received")
    report = deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    assert (report.sent, report.delivered) == (1, 0)
    stored = reload(sessions, message.id)
    assert stored.status == "sending" and stored.provider_id in state.notifications
    [post] = state.posts
    assert post == {
        "type": "email",
        "email_address": "person@example.org",
        "template_id": EMAIL_TEMPLATE,
        "personalisation": {"subject": message.subject, "body": message.body},
        "reference": "story:9:received",
    }
    # Not asked again before the check is due; then still on its way; then delivered.
    assert deliver_due(sessions, channel(url), now=SATURDAY_NOON).delivered == 0
    later = SATURDAY_NOON + timedelta(seconds=31)
    assert deliver_due(sessions, channel(url), now=later).delivered == 0
    state.set_status(stored.provider_id or "", "delivered")
    state.notifications[stored.provider_id or ""]["completed_at"] = "2024-01-06T12:01:00.000000Z"
    report = deliver_due(sessions, channel(url), now=later + timedelta(minutes=5))
    assert report.delivered == 1
    stored = reload(sessions, message.id)
    assert stored.status == "delivered" and stored.attempts == 1
    assert stored.delivered_at == SATURDAY_NOON + timedelta(minutes=1)
    assert [c.message_id for c in hook.calls] == [message.id]
    assert len(state.posts) == 1


def test_text_messages_use_the_sms_template(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    queue(sessions, now=SATURDAY_NOON, channel="sms", address="07700900123")
    deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    [post] = state.posts
    assert post["type"] == "sms" and post["phone_number"] == "07700900123"
    assert post["template_id"] == SMS_TEMPLATE


def test_a_bad_request_is_a_permanent_failure(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    state.fail_next_post = 400
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == "permanent-failure"
    assert stored.last_error == (
        "GOV.UK Notify could not send the message: HTTP 400: "
        "BadRequestError: email_address Not a valid email"
    )


def test_a_server_error_is_a_technical_failure_and_retried(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    state.fail_next_post = 500
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == "technical-failure"
    assert stored.last_error is not None and "HTTP 500" in stored.last_error
    deliver_due(sessions, channel(url), now=stored.next_attempt_at)
    stored = reload(sessions, message.id)
    assert stored.status == "sending" and stored.attempts == 2
    assert len(state.posts) == 2


def test_a_wrong_key_is_refused_and_a_permanent_failure(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    wrong = f"onestory_test-{SERVICE_ID}-{uuid.uuid4()}"
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(url, wrong), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == "permanent-failure"
    assert stored.last_error is not None and "HTTP 403" in stored.last_error
    assert SECRET not in stored.last_error and not state.posts


def test_a_retry_after_a_crash_finds_the_message_notify_already_has(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    message = queue(sessions, now=SATURDAY_NOON)
    claimed = worker._claim(sessions, SATURDAY_NOON)
    assert claimed is not None
    channel(url).send(claimed)  # Notify accepts it; the worker dies before recording that
    deliver_due(sessions, channel(url), now=SATURDAY_NOON + timedelta(minutes=6))
    stored = reload(sessions, message.id)
    assert stored.status == "sending" and stored.provider_id in state.notifications
    assert len(state.posts) == 1


def test_not_being_able_to_ask_leaves_the_message_sending(
    sessions: sessionmaker[Session], notify: tuple[NotifyStandIn, str]
) -> None:
    state, url = notify
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    state.fail_gets = 502
    deliver_due(sessions, channel(url), now=SATURDAY_NOON + timedelta(minutes=1))
    stored = reload(sessions, message.id)
    assert stored.status == "sending"
    assert stored.last_error is not None and "HTTP 502" in stored.last_error


@pytest.mark.parametrize(
    ("notify_status", "ours"),
    [("permanent-failure", "permanent-failure"), ("temporary-failure", "temporary-failure")],
)
def test_notify_failures_are_recorded(
    sessions: sessionmaker[Session],
    notify: tuple[NotifyStandIn, str],
    notify_status: str,
    ours: str,
) -> None:
    state, url = notify
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(url), now=SATURDAY_NOON)
    state.set_status(reload(sessions, message.id).provider_id or "", notify_status)
    deliver_due(sessions, channel(url), now=SATURDAY_NOON + timedelta(minutes=1))
    stored = reload(sessions, message.id)
    assert stored.status == ours and stored.last_error == f"Notify reported {notify_status}"


def test_a_malformed_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ONESTORY_GOVUK_NOTIFY_API_KEY is not"):
        GovukNotifyChannel("not-a-key", "http://127.0.0.1:1", EMAIL_TEMPLATE, None)
