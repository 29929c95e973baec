"""Entries appended at commit: one batch per transaction, seen by the transaction's own ledger
reads, gone with a rollback, and in order with entries appended at once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.ledger.log import append, append_at_commit, tree_size
from onestory.ledger.note import NoteVerifier
from onestory.ledger.tables import LedgerEntry
from onestory.ledger.verify import verify_ledger


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def test_entries_wait_for_the_commit_and_are_written_in_order(
    session: Session, verifier: NoteVerifier
) -> None:
    before = tree_size(session)
    append_at_commit(session, entry_type="test.a", actor="x")
    append_at_commit(session, entry_type="test.b", actor="x")
    # A read of the ledger in the same transaction sees them (they are written first).
    assert _count(session) == before + 2
    append(session, entry_type="test.c", actor="x")
    append_at_commit(session, entry_type="test.d", actor="x")
    session.commit()
    types = list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))
    assert types[-4:] == ["test.a", "test.b", "test.c", "test.d"]
    assert tree_size(session) == before + 4
    assert verify_ledger(session, verifier).ok


def test_a_rollback_takes_the_waiting_entries_with_it(session: Session) -> None:
    before = tree_size(session)
    append_at_commit(session, entry_type="test.a", actor="x")
    session.rollback()
    append_at_commit(session, entry_type="test.b", actor="x")
    session.commit()
    types = list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))
    assert types[before:] == ["test.b"]


def test_closing_the_session_forgets_waiting_entries(engine: object) -> None:
    from onestory.store import session_factory

    sessions = session_factory(engine)  # type: ignore[arg-type]
    with sessions() as first:
        before = tree_size(first)
        append_at_commit(first, entry_type="test.dropped", actor="x")
        first.close()  # neither committed nor rolled back by hand
        append_at_commit(first, entry_type="test.kept", actor="x")
        first.commit()
        types = list(first.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))
    assert types[before:] == ["test.kept"]
