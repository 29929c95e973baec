"""Queueing: rendered at once, ledgered without the address, one message per key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from conftest import SATURDAY_NOON, ledger_entries
from onestory.notify.contact import ContactWindow
from onestory.notify.outbox import QUEUED, OutboxError, enqueue
from onestory.notify.tables import NotifyMessage
from onestory.notify.templates import TemplateError
from onestory.store import session_factory


def _enqueue(session: Session, key: str = "story:1:received", **overrides: object) -> NotifyMessage:
    arguments: dict[str, object] = {
        "recipient_subject_id": "person-42",
        "channel": "email",
        "address": "someone@example.org",
        "template": "story-received",
        "language": "en",
        "personalisation": {"reference": "OS-1"},
        "idempotency_key": key,
        "reference": "story:1",
        "now": SATURDAY_NOON,
    }
    arguments.update(overrides)
    return enqueue(session, **arguments)  # type: ignore[arg-type]


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(NotifyMessage)) or 0)


def test_enqueue_renders_and_ledgers_without_the_address(session: Session) -> None:
    message = _enqueue(session)
    session.commit()
    assert message.status == "created"
    assert message.subject == "We have received what you sent us"
    assert "OS-1" in message.body
    assert message.not_before == SATURDAY_NOON == message.next_attempt_at
    assert message.attempts == 0 and message.provider_id is None
    [(entry, payload)] = ledger_entries(session, QUEUED)
    assert entry.subjects == [{"kind": "person", "id": "person-42"}]
    assert payload == {"template": "story-received", "channel": "email", "reference": "story:1"}
    assert "someone@example.org" not in str(payload) and "OS-1" not in str(payload)


def test_the_same_key_twice_makes_one_message_and_one_entry(session: Session) -> None:
    first = _enqueue(session)
    session.commit()
    again = _enqueue(session, personalisation={"reference": "OS-2"})
    session.commit()
    assert again.id == first.id and "OS-1" in again.body
    assert _count(session) == 1
    assert len(ledger_entries(session, QUEUED)) == 1


def test_a_message_outside_its_windows_waits_for_the_next(session: Session) -> None:
    weekdays = ContactWindow(frozenset(range(5)), time(10), time(15))
    message = _enqueue(session, windows=[weekdays])
    assert message.not_before == datetime(2024, 1, 8, 10, tzinfo=UTC)
    assert message.contact_windows == [weekdays.to_json()]


def test_a_bad_template_fails_in_the_callers_transaction(session: Session) -> None:
    with pytest.raises(TemplateError, match="'reference'"):
        _enqueue(session, personalisation={})
    session.rollback()
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("channel", "letter", "channel 'letter' is not one of email, sms"),
        ("language", "fr", "language 'fr' is not one of en, cy"),
        ("address", " ", "the email address is empty"),
        ("recipient_subject_id", "", "recipient_subject_id is empty"),
    ],
)
def test_bad_arguments_say_which(session: Session, field: str, value: str, message: str) -> None:
    with pytest.raises(OutboxError, match=message):
        _enqueue(session, **{field: value})


def test_concurrent_enqueues_of_one_key_make_one_message(engine: Engine) -> None:
    sessions = session_factory(engine)
    barrier = threading.Barrier(4)
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with sessions() as session:
                barrier.wait()
                ids.append(_enqueue(session, key="race").id)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(ids)) == 1
    with sessions() as session:
        assert _count(session) == 1
        assert len(ledger_entries(session, QUEUED)) == 1
