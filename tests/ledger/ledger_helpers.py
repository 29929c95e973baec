"""Helpers for the ledger tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from onestory.ledger.entries import NewEntry, Subject
from onestory.ledger.log import append_many

ORIGIN = "onestory.test/ledger"


def fill(session: Session, count: int, *, start: int = 0, payload: bool = True) -> None:
    """Append ``count`` read entries about made-up victims, committed."""
    append_many(
        session,
        [
            NewEntry(
                entry_type="sharing.read",
                actor=f"user:{(start + i) % 7}",
                actor_org="POL01",
                purpose="investigation",
                subjects=(Subject("victim", f"v{start + i}"),),
                payload={"field": "statement", "n": start + i} if payload else None,
            )
            for i in range(count)
        ],
    )
    session.commit()
