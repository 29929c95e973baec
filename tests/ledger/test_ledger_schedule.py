"""The server's checkpoint schedule cuts checkpoints as the log grows, and survives an empty log."""

from __future__ import annotations

import asyncio

from ledger_helpers import fill
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from onestory.ledger.note import NoteSigner
from onestory.ledger.schedule import cut_checkpoints_every, cut_once
from onestory.ledger.tables import LedgerCheckpoint
from onestory.store import session_factory


def test_cut_once_skips_an_empty_log_then_signs(engine: Engine, signer: NoteSigner) -> None:
    sessions = session_factory(engine)
    assert cut_once(sessions, signer) is None
    with sessions() as session:
        fill(session, 3)
    assert cut_once(sessions, signer) == 3
    assert cut_once(sessions, signer) == 3


def test_the_schedule_keeps_cutting(engine: Engine, session: Session, signer: NoteSigner) -> None:
    sessions = session_factory(engine)

    async def run() -> None:
        task = asyncio.create_task(cut_checkpoints_every(0.05, sessions, signer))
        await asyncio.sleep(0.2)
        with sessions() as writer:
            fill(writer, 2)
        await asyncio.sleep(0.3)
        with sessions() as writer:
            fill(writer, 3, start=2)
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(run())
    sizes = list(session.scalars(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size)))
    assert sizes == [2, 5]
