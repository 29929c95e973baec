"""What a holder shows: a presentation of the credentials they chose, behind a link they control.

A share is an unguessable link (``/passport/s/<token>``; only the token's SHA-256 is stored) to a
W3C Verifiable Presentation holding exactly the credentials the holder picked, each as issued
(Data Integrity, ``eddsa-rdfc-2022``). The presentation itself carries no proof: OneStory holds
no key of the holder's, and signing it with OneStory's own key would claim that OneStory is the
holder. What makes a shared credential trustworthy is each credential's own proof and its status;
whose it is, is the name in it (an employer checks it against the person in front of them). A
printed card is a share whose QR code is the link. The holder can withdraw any share; a
withdrawn or expired link answers as if it never existed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.passport.credentials import PassportError, holder_credentials
from onestory.passport.jsonld import VC_V2_URL
from onestory.passport.tables import PassportCredential, PassportHolder, PassportShare
from onestory.store.base import utcnow

SHARE_PATH = "/passport/s/{}"
DEFAULT_SHARE_DAYS = 90
CARD = "card"
SHARE = "share"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def share_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + SHARE_PATH.format(token)


def create_share(
    session: Session,
    holder: PassportHolder,
    credential_ids: Sequence[str],
    *,
    purpose: str = SHARE,
    label: str | None = None,
    days: int | None = DEFAULT_SHARE_DAYS,
) -> tuple[PassportShare, str]:
    """A new share of the holder's chosen, unrevoked credentials, and its token (shown once).

    Refuses an empty choice and any id that is not one of the holder's live credentials, so a
    holder can never present someone else's credential or one that was revoked.
    """
    chosen = list(dict.fromkeys(credential_ids))
    if not chosen:
        raise PassportError("choose at least one qualification to share")
    live = {c.id for c in holder_credentials(session, holder) if c.revoked_at is None}
    foreign = [c for c in chosen if c not in live]
    if foreign:
        raise PassportError("you can only share qualifications in your passport that are valid")
    token = secrets.token_urlsafe(24)
    now = utcnow()
    share = PassportShare(
        token_hash=token_hash(token),
        holder_id=holder.id,
        credential_ids=chosen,
        purpose=purpose,
        label=(label or "").strip()[:200] or None,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(share)
    session.flush()
    return share, token


def live_share(
    session: Session, token: str, *, now: datetime | None = None
) -> PassportShare | None:
    """The share a token opens, unless it was withdrawn or has expired."""
    share = session.scalar(
        select(PassportShare).where(PassportShare.token_hash == token_hash(token))
    )
    if share is None or share.withdrawn_at is not None:
        return None
    if share.expires_at is not None and share.expires_at <= (now or utcnow()):
        return None
    return share


def withdraw_share(session: Session, holder: PassportHolder, share_id: int) -> PassportShare:
    """Withdraw one of the holder's shares (the caller commits)."""
    share = session.get(PassportShare, share_id)
    if share is None or share.holder_id != holder.id:
        raise PassportError("no such share")
    if share.withdrawn_at is None:
        share.withdrawn_at = utcnow()
    return share


def holder_shares(session: Session, holder: PassportHolder) -> list[PassportShare]:
    """The holder's shares, newest first."""
    return list(
        session.scalars(
            select(PassportShare)
            .where(PassportShare.holder_id == holder.id)
            .order_by(PassportShare.created_at.desc(), PassportShare.id.desc())
        )
    )


def shared_credentials(session: Session, share: PassportShare) -> list[PassportCredential]:
    """The share's credentials in the order the holder chose them."""
    found = {
        c.id: c
        for c in session.scalars(
            select(PassportCredential).where(PassportCredential.id.in_(share.credential_ids))
        )
    }
    return [found[i] for i in share.credential_ids if i in found]


def presentation(credentials: Sequence[PassportCredential]) -> dict[str, Any]:
    """An unsecured Verifiable Presentation of the credentials, each as issued (eddsa-rdfc-2022)."""
    return {
        "@context": [VC_V2_URL],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [c.rdfc for c in credentials],
    }
