"""The SMTP channel against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from notify_helpers import queue, reload
from sqlalchemy.orm import Session, sessionmaker

from conftest import SATURDAY_NOON
from onestory.notify.channels import SmtpChannel
from onestory.notify.worker import deliver_due


class Mailbox:
    """An aiosmtpd handler that keeps what it receives, or answers RCPT with a set reply."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []
        self.rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, int(controller.port)
    finally:
        controller.stop()


def channel(port: int) -> SmtpChannel:
    return SmtpChannel("127.0.0.1", port, "OneStory <no-reply@onestory.test>", timeout=5)


def test_the_server_receives_the_message(
    sessions: sessionmaker[Session], mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    message = queue(sessions, now=SATURDAY_NOON, address="jo@example.org", language="cy")
    report = deliver_due(sessions, channel(port), now=SATURDAY_NOON)
    assert report.delivered == 1
    [(recipients, email)] = box.received
    assert recipients == ["jo@example.org"]
    assert email["To"] == "jo@example.org"
    assert email["Subject"] == "Rydym wedi cael yr hyn a anfonoch atom"
    assert email["Message-ID"] == f"<{message.id}@onestory.notify>"
    body = email.get_payload(decode=True).decode(email.get_content_charset() or "utf-8")
    assert body.replace("\r\n", "\n") == message.body and "OS-123" in body
    assert reload(sessions, message.id).provider_id == f"<{message.id}@onestory.notify>"


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("451 4.7.1 Greylisted, try again later", "temporary-failure"),
        ("550 5.1.1 No such mailbox", "permanent-failure"),
    ],
)
def test_server_refusals_become_temporary_or_permanent(
    sessions: sessionmaker[Session], mailbox: tuple[Mailbox, int], reply: str, status: str
) -> None:
    box, port = mailbox
    box.rcpt_reply = reply
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(port), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == status
    assert stored.last_error == f"the SMTP server refused the recipient: {reply}"
    assert not box.received


def test_a_server_that_is_not_there_is_a_technical_failure(
    sessions: sessionmaker[Session],
) -> None:
    port = free_port()  # nothing listens here any more
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel(port), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == "technical-failure"
    assert stored.last_error is not None
    assert stored.last_error.startswith(f"cannot reach the SMTP server 127.0.0.1:{port}")


def test_text_messages_cannot_go_by_smtp(sessions: sessionmaker[Session]) -> None:
    message = queue(sessions, now=SATURDAY_NOON, channel="sms", address="07700900123")
    deliver_due(sessions, channel(free_port()), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert stored.status == "permanent-failure"
    assert stored.last_error is not None and "sends email only" in stored.last_error
