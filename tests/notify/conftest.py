"""Notify fixtures: the outbox table in the schema, session makers, and a recording hook."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import onestory.notify.tables  # noqa: F401 - puts notify_message in Base.metadata for `engine`
from onestory.ledger.tables import LedgerEntry, LedgerPayload
from onestory.notify.channels import FileChannel
from onestory.notify.tables import NotifyMessage
from onestory.notify.worker import register_delivery_hook, unregister_delivery_hook
from onestory.store import session_factory

# A Saturday in winter (GMT): 12:00 UTC is 12:00 in London.
SATURDAY_NOON = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def file_channel(tmp_path: Path) -> FileChannel:
    return FileChannel(tmp_path / "outbox")


@dataclass
class HookCall:
    message_id: str
    status_in_transaction: str | None
    delivered_entries_visible: int
    in_transaction: bool


@dataclass
class RecordingHook:
    """A delivery hook that writes down what it saw, from inside the recording transaction."""

    calls: list[HookCall] = field(default_factory=list)

    def __call__(self, session: Session, message: NotifyMessage) -> None:
        status = session.scalar(select(NotifyMessage.status).where(NotifyMessage.id == message.id))
        entries = len(ledger_entries(session, "notify.message.delivered"))
        self.calls.append(HookCall(message.id, status, entries, session.in_transaction()))


@pytest.fixture
def hook() -> Iterator[RecordingHook]:
    recording = RecordingHook()
    register_delivery_hook(recording)
    yield recording
    unregister_delivery_hook(recording)


def ledger_entries(session: Session, entry_type: str) -> list[tuple[LedgerEntry, dict]]:
    """Entries of one type with their payloads, oldest first."""
    rows = session.execute(
        select(LedgerEntry, LedgerPayload.payload)
        .outerjoin(LedgerPayload, LedgerPayload.seq == LedgerEntry.seq)
        .where(LedgerEntry.entry_type == entry_type)
        .order_by(LedgerEntry.seq)
    ).all()
    return [(entry, payload) for entry, payload in rows]
