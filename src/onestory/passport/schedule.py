"""Issuing credentials while the server runs: a learning record that arrives achieved (through an
extract or the API) and is placed in the person index becomes a credential within a minute,
without anyone running a command."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from onestory.passport.credentials import IssueSummary, issue_pending
from onestory.passport.issuer import Issuer

log = logging.getLogger(__name__)
ACTOR = "system:passport"


def issue_once(sessions: sessionmaker[Session], issuer: Issuer, base_url: str) -> IssueSummary:
    """Issue whatever is due now."""
    with sessions() as session:
        summary = issue_pending(session, issuer, actor=ACTOR, base_url=base_url)
    if summary.issued or summary.refused:
        log.info("issued %d credentials; %d refused", summary.issued, len(summary.refused))
    return summary


async def issue_every(
    seconds: float, sessions: sessionmaker[Session], issuer: Issuer, base_url: str
) -> None:
    """Issue what is due every ``seconds`` until cancelled; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(issue_once, sessions, issuer, base_url)
        except Exception:  # one bad run must not stop the next; the log says why
            log.exception("issuing passport credentials failed")
