"""The worker: claims, sends outside transactions, retries with back-off, honours safe times."""

from __future__ import annotations

import json
import threading
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from notify_helpers import queue, reload
from sqlalchemy.orm import Session, sessionmaker

from conftest import SATURDAY_NOON, RecordingHook, ledger_entries
from onestory.notify import worker
from onestory.notify.channels import FileChannel, SendResult
from onestory.notify.contact import ContactWindow
from onestory.notify.tables import NotifyMessage
from onestory.notify.worker import MAX_ATTEMPTS, deliver_due

WEEKDAYS_10_TO_3 = ContactWindow(frozenset(range(5)), time(10), time(15))
MONDAY_10 = datetime(2024, 1, 8, 10, 0, tzinfo=UTC)  # GMT: London 10:00


class FlakyChannel:
    """Fails the first ``failures`` sends of each message with ``status``, then delivers."""

    def __init__(self, failures: int, status: str = "temporary-failure") -> None:
        self.failures, self.status = failures, status
        self.sends: Counter[str] = Counter()

    def send(self, message: NotifyMessage) -> SendResult:
        self.sends[message.id] += 1
        if self.sends[message.id] <= self.failures:
            return SendResult(self.status, error=f"try {self.sends[message.id]} failed")
        return SendResult("delivered", provider_id=f"flaky-{message.id}")

    def check(self, message: NotifyMessage) -> SendResult:
        return SendResult(message.status, message.provider_id)


class CountingChannel:
    """Delivers, slowly, and counts sends per message from any thread."""

    def __init__(self) -> None:
        self.sends: Counter[str] = Counter()
        self.lock = threading.Lock()

    def send(self, message: NotifyMessage) -> SendResult:
        clock.sleep(0.005)
        with self.lock:
            self.sends[message.id] += 1
        return SendResult("delivered", provider_id=message.id)

    def check(self, message: NotifyMessage) -> SendResult:
        return SendResult(message.status, message.provider_id)


class BrokenChannel:
    def send(self, message: NotifyMessage) -> SendResult:
        raise RuntimeError("bug")

    def check(self, message: NotifyMessage) -> SendResult:
        raise RuntimeError("bug")


def test_file_channel_delivers_writes_the_file_and_runs_the_hook_once(
    sessions: sessionmaker[Session], file_channel: FileChannel, hook: RecordingHook
) -> None:
    message = queue(sessions, now=SATURDAY_NOON)
    report = deliver_due(sessions, file_channel, now=SATURDAY_NOON)
    assert (report.sent, report.delivered, report.failed, report.waiting) == (1, 1, 0, 0)
    stored = reload(sessions, message.id)
    assert stored.status == "delivered" and stored.attempts == 1
    assert stored.sent_at == stored.delivered_at == SATURDAY_NOON
    written = json.loads(file_channel.path_for(stored).read_text(encoding="utf-8"))
    assert written["to"] == "person@example.org"
    assert written["subject"] == stored.subject and written["body"] == stored.body
    # The hook ran once, inside the transaction that marked the message delivered and ledgered it.
    [call] = hook.calls
    assert call.message_id == message.id and call.in_transaction
    assert call.status_in_transaction == "delivered" and call.delivered_entries_visible == 1
    with sessions() as session:
        [(_entry, payload)] = ledger_entries(session, "notify.message.delivered")
        assert payload["template"] == "story-received" and "person@example.org" not in str(payload)
    assert deliver_due(sessions, file_channel, now=SATURDAY_NOON).sent == 0
    assert len(hook.calls) == 1


def test_a_failing_hook_does_not_get_the_message_sent_twice(
    sessions: sessionmaker[Session], file_channel: FileChannel
) -> None:
    def broken(session: Session, message: NotifyMessage) -> None:
        raise RuntimeError("victims module bug")

    worker.register_delivery_hook(broken)
    try:
        message = queue(sessions, now=SATURDAY_NOON)
        deliver_due(sessions, file_channel, now=SATURDAY_NOON)
    finally:
        worker.unregister_delivery_hook(broken)
    stored = reload(sessions, message.id)
    assert stored.status == "delivered"
    assert stored.last_error is not None and "hook failed" in stored.last_error
    assert deliver_due(sessions, file_channel, now=SATURDAY_NOON + timedelta(hours=1)).sent == 0


def test_a_message_waits_for_its_window_and_goes_once_it_opens(
    sessions: sessionmaker[Session], file_channel: FileChannel
) -> None:
    message = queue(sessions, now=SATURDAY_NOON, windows=[WEEKDAYS_10_TO_3])
    assert message.not_before == MONDAY_10
    report = deliver_due(sessions, file_channel, now=SATURDAY_NOON + timedelta(days=1))
    assert (report.sent, report.waiting) == (0, 1)
    assert not file_channel.path_for(message).exists()
    report = deliver_due(sessions, file_channel, now=MONDAY_10 + timedelta(seconds=1))
    assert report.delivered == 1
    assert file_channel.path_for(message).exists()


def test_a_worker_that_missed_the_window_waits_for_the_next_one(
    sessions: sessionmaker[Session], file_channel: FileChannel
) -> None:
    message = queue(sessions, now=MONDAY_10, windows=[WEEKDAYS_10_TO_3])
    assert message.not_before == MONDAY_10
    # The worker was down until Monday evening: outside every window now.
    report = deliver_due(sessions, file_channel, now=MONDAY_10 + timedelta(hours=8))
    assert (report.sent, report.waiting) == (0, 1)
    stored = reload(sessions, message.id)
    assert stored.status == "created" and stored.attempts == 0
    assert stored.not_before == MONDAY_10 + timedelta(days=1)
    assert deliver_due(sessions, file_channel, now=MONDAY_10 + timedelta(days=1)).delivered == 1


def test_temporary_failures_are_retried_with_growing_back_off(
    sessions: sessionmaker[Session], hook: RecordingHook
) -> None:
    channel = FlakyChannel(failures=3)
    message = queue(sessions, now=SATURDAY_NOON)
    now = SATURDAY_NOON
    waits = []
    for attempt in range(1, 4):
        report = deliver_due(sessions, channel, now=now)
        assert report.failed == 1
        stored = reload(sessions, message.id)
        assert (stored.status, stored.attempts) == ("temporary-failure", attempt)
        assert stored.last_error == f"try {attempt} failed"
        wait = stored.next_attempt_at - now
        waits.append(wait)
        # Not due a moment before the back-off ends.
        assert deliver_due(sessions, channel, now=now + wait - timedelta(seconds=1)).failed == 0
        now = stored.next_attempt_at
    for wait, base in zip(waits, (30, 120, 480), strict=True):
        assert timedelta(seconds=base) <= wait <= timedelta(seconds=base * 1.1)
    assert deliver_due(sessions, channel, now=now).delivered == 1
    assert reload(sessions, message.id).attempts == 4
    assert len(hook.calls) == 1


def test_a_message_that_keeps_failing_becomes_a_permanent_failure(
    sessions: sessionmaker[Session],
) -> None:
    channel = FlakyChannel(failures=100, status="technical-failure")
    message = queue(sessions, now=SATURDAY_NOON)
    now = SATURDAY_NOON
    for _ in range(MAX_ATTEMPTS + 2):
        deliver_due(sessions, channel, now=now)
        now += timedelta(hours=2)
    stored = reload(sessions, message.id)
    assert channel.sends[message.id] == MAX_ATTEMPTS
    assert stored.status == "permanent-failure" and stored.attempts == MAX_ATTEMPTS
    assert stored.last_error == f"gave up after {MAX_ATTEMPTS} attempts; last: try 8 failed"


def test_a_permanent_failure_is_not_retried(sessions: sessionmaker[Session]) -> None:
    channel = FlakyChannel(failures=100, status="permanent-failure")
    message = queue(sessions, now=SATURDAY_NOON)
    deliver_due(sessions, channel, now=SATURDAY_NOON)
    deliver_due(sessions, channel, now=SATURDAY_NOON + timedelta(days=1))
    assert channel.sends[message.id] == 1
    assert reload(sessions, message.id).status == "permanent-failure"


def test_a_channel_that_raises_fails_the_message_not_the_run(
    sessions: sessionmaker[Session],
) -> None:
    message = queue(sessions, now=SATURDAY_NOON)
    report = deliver_due(sessions, BrokenChannel(), now=SATURDAY_NOON)
    stored = reload(sessions, message.id)
    assert report.failed == 1
    assert (
        stored.status == "technical-failure"
        and stored.last_error == "the channel raised RuntimeError"
    )


def test_a_claim_left_by_a_dead_worker_is_retried_after_the_lease(
    sessions: sessionmaker[Session], file_channel: FileChannel
) -> None:
    message = queue(sessions, now=SATURDAY_NOON)
    # A worker claims it, writes the file, and dies before recording anything.
    claimed = worker._claim(sessions, SATURDAY_NOON)
    assert claimed is not None and claimed.id == message.id
    file_channel.send(claimed)
    written = file_channel.path_for(claimed).read_text(encoding="utf-8")
    assert deliver_due(sessions, file_channel, now=SATURDAY_NOON + timedelta(minutes=4)).sent == 0
    report = deliver_due(sessions, file_channel, now=SATURDAY_NOON + timedelta(minutes=6))
    assert report.delivered == 1
    stored = reload(sessions, message.id)
    assert stored.status == "delivered" and stored.attempts == 2
    assert file_channel.path_for(stored).read_text(encoding="utf-8") == written  # not rewritten
    # The dead worker's late result, were it to arrive, changes nothing.
    assert worker._record(sessions, claimed, SendResult("delivered"), SATURDAY_NOON) is None


def test_concurrent_workers_send_each_message_exactly_once(
    sessions: sessionmaker[Session],
) -> None:
    ids = {queue(sessions, now=SATURDAY_NOON).id for _ in range(30)}
    channel = CountingChannel()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            deliver_due(sessions, channel, now=SATURDAY_NOON)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(channel.sends) == ids
    assert set(channel.sends.values()) == {1}
    with sessions() as session:
        assert len(ledger_entries(session, "notify.message.delivered")) == len(ids)


def test_deliver_every_keeps_going_after_a_bad_run(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    import asyncio

    runs: list[str] = []

    class OnceBroken(FileChannel):
        def send(self, message: NotifyMessage) -> SendResult:
            runs.append(message.id)
            return super().send(message)

    channel = OnceBroken(tmp_path / "out")
    real = worker.deliver_due
    calls = 0

    def flaky_run(*args: object, **kwargs: object) -> worker.DeliveryReport:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    queue(sessions, now=datetime.now(UTC) - timedelta(seconds=1))

    async def main() -> None:
        task = asyncio.create_task(worker.deliver_every(0.01, sessions, channel))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if runs:
                break
        task.cancel()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker, "deliver_due", flaky_run)
        asyncio.run(main())
    assert calls >= 2 and len(runs) == 1
