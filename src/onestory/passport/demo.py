"""The demo's skills passports: every synthetic learner's achievements issued, one learner to sign
in as, and a credential written out to check with the command line.

Issuing goes through ``credentials.issue_pending``, exactly as ``onestory passport issue`` would:
the learning records came in through the exchange and were linked by the person index, so the
passports are what a real run over those extracts would give. The demo learner is the holder with
the most credentials (ties broken by person id, so re-runs pick the same person).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.passport.credentials import IssueSummary, issue_pending
from onestory.passport.issuer import Issuer
from onestory.passport.tables import PassportCredential, PassportHolder
from onestory.sharing.tables import UserAccount

DEMO_LEARNER_EMAIL = "learner@demo.onestory.test"
DEMO_CREDENTIAL_FILE = "demo-credential.json"


@dataclass(frozen=True)
class DemoPassports:
    """What the demo issued and where to look."""

    summary: IssueSummary
    holders: int
    credentials: int
    learner_holder: str | None
    credential_file: Path | None


def issue_demo_passports(
    session: Session,
    issuer: Issuer,
    *,
    base_url: str,
    data_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> DemoPassports:
    """Issue what is due, give the demo learner account a passport, and write one credential."""
    summary = issue_pending(
        session, issuer, actor="system:demo", base_url=base_url, progress=progress
    )
    holders = session.scalar(select(func.count()).select_from(PassportHolder)) or 0
    issued = session.scalar(select(func.count()).select_from(PassportCredential)) or 0
    holder = _demo_holder(session)
    written = None
    if holder is not None:
        account = session.scalar(select(UserAccount).where(UserAccount.email == DEMO_LEARNER_EMAIL))
        if account is not None and holder.account_id != account.id:
            # The account is the demo's: whoever held it before (an earlier world) lets go.
            for other in session.scalars(
                select(PassportHolder).where(PassportHolder.account_id == account.id)
            ):
                other.account_id = None
            session.flush()
            holder.account_id = account.id
            account.display_name = holder.full_name
        first = session.scalar(
            select(PassportCredential)
            .where(PassportCredential.holder_id == holder.id)
            .order_by(PassportCredential.awarded_on.desc(), PassportCredential.id)
            .limit(1)
        )
        if first is not None:
            folder = data_dir / "passport"
            folder.mkdir(parents=True, exist_ok=True)
            written = folder / DEMO_CREDENTIAL_FILE
            written.write_text(
                json.dumps(first.rdfc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
    session.commit()
    return DemoPassports(summary, holders, issued, holder.id if holder else None, written)


def _demo_holder(session: Session) -> PassportHolder | None:
    """The holder with the most credentials (the demo learner), or the one already chosen."""
    account_id = session.scalar(
        select(UserAccount.id).where(UserAccount.email == DEMO_LEARNER_EMAIL)
    )
    if account_id is not None:
        chosen = session.scalar(
            select(PassportHolder).where(PassportHolder.account_id == account_id)
        )
        if chosen is not None:
            return chosen
    count = func.count(PassportCredential.id)
    row = session.execute(
        select(PassportHolder.id)
        .join(PassportCredential, PassportCredential.holder_id == PassportHolder.id)
        .group_by(PassportHolder.id, PassportHolder.person_id)
        .order_by(count.desc(), PassportHolder.person_id)
        .limit(1)
    ).first()
    return session.get(PassportHolder, row[0]) if row else None
