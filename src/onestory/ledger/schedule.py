"""Cutting checkpoints at a fixed interval while the server runs."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from onestory.ledger.checkpoints import cut_checkpoint
from onestory.ledger.log import LedgerError
from onestory.ledger.note import NoteSigner

log = logging.getLogger(__name__)


def cut_once(sessions: sessionmaker[Session], signer: NoteSigner) -> int | None:
    """Cut a checkpoint if there is anything to sign; return its size."""
    with sessions() as session:
        try:
            checkpoint = cut_checkpoint(session, signer)
        except LedgerError as exc:
            log.info("no checkpoint cut: %s", exc)
            return None
        session.commit()
        return int(checkpoint.size)


async def cut_checkpoints_every(
    seconds: float, sessions: sessionmaker[Session], signer: NoteSigner
) -> None:
    """Cut a checkpoint every ``seconds`` until cancelled; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(cut_once, sessions, signer)
        except Exception:  # a bad cut must not stop the next one; verify will name the cause
            log.exception("cutting a ledger checkpoint failed")
