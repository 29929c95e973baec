"""Public submission links: a witness or member of the public uploads footage for a case.

An officer makes a link for one case, saying what to send. The link carries a random token
(256 bits); only the token's SHA-256 is stored, so a copy of the database cannot be used to
upload. A link works once and until it expires (14 days unless the officer says otherwise, at
most 60). Making one is decided by the sharing rules like any other evidence created for the
investigation, and is itself a ledger entry (which never holds the token). What is uploaded
becomes an item held by the officer's organisation, taken in by ``service.create_item`` with the
link as its actor, so its custody starts like any other item's.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from onestory.domain.identifiers import CaseURN
from onestory.evidence import service
from onestory.evidence.blobs import BlobStore, Staged
from onestory.evidence.tables import EvidenceItem, SubmissionLink
from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow

DEFAULT_DAYS = 14
MAX_DAYS = 60
MAX_REQUEST_TEXT = 2000
CREATED = "evidence.submission_link.created"
VIA = "submission-link"


class LinkError(service.EvidenceError):
    """A link that cannot be made as asked; the message says what to change."""


class LinkUnavailable(Exception):
    """A link that cannot be used: unknown, expired or already used. ``reason`` says which, in
    words fit for the member of the public holding it (nothing about the case)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NewLink:
    """A link just made: the row, and the token, which is shown once and never stored."""

    link: SubmissionLink
    token: str

    @property
    def path(self) -> str:
        """Where the member of the public opens it."""
        return f"/evidence/submit/{self.token}"


def hash_token(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(
    session: Session,
    *,
    policies: PolicySet,
    actor: Actor,
    case_urn: str,
    request_text: str,
    days: int = DEFAULT_DAYS,
) -> NewLink:
    """Make a link for ``case_urn`` that works once, for ``days`` days; the caller commits.

    Raises ``LinkError`` for a bad request text or expiry, ``service.Refused`` when the rules do
    not let the actor create evidence for the investigation (the refusal is ledgered).
    """
    urn = str(CaseURN(case_urn))
    text = request_text.strip()
    if not text:
        raise LinkError("say what the witness should send, for example 'dashcam footage'")
    if len(text) > MAX_REQUEST_TEXT:
        raise LinkError(f"what to send must be {MAX_REQUEST_TEXT:,} characters or fewer")
    if not 1 <= days <= MAX_DAYS:
        raise LinkError(f"a link can last from 1 to {MAX_DAYS} days")
    org = actor.organisation_code
    if org is None:
        raise service.Refused("only staff of an organisation that holds evidence can make links")
    decision = authorize(
        session,
        actor=actor,
        action=Action.CREATE,
        record=RecordRef(RecordKind.EVIDENCE, f"case:{urn}"),
        purpose=service.HOLDER_PURPOSE,
        policies=policies,
    )
    if not decision.allowed:
        raise service.Refused(decision.reason)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = SubmissionLink(
        token_hash=hash_token(token),
        case_urn=urn,
        organisation=org,
        request_text=text,
        created_by=actor.user_or_client_id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    session.flush()
    append(
        session,
        entry_type=CREATED,
        actor=actor.user_or_client_id,
        actor_org=org,
        purpose=service.HOLDER_PURPOSE,
        subjects=[Subject(RecordKind.CASE, urn)],
        payload={
            "link": link.id,
            "caseUrn": urn,
            "requestText": text,
            "expiresAt": link.expires_at.isoformat(),
        },
    )
    return NewLink(link, token)


def find_link(session: Session, token: str, now: datetime | None = None) -> SubmissionLink:
    """The usable link for ``token``, or ``LinkUnavailable`` saying why not."""
    link = session.scalar(
        select(SubmissionLink).where(SubmissionLink.token_hash == hash_token(token))
    )
    if link is None:
        raise LinkUnavailable(
            "This link is not recognised. Check you copied the whole link, or ask the officer "
            "who sent it for a new one."
        )
    if link.used_at is not None:
        raise LinkUnavailable(
            "This link has already been used to send a file. Each link works once: ask the "
            "officer who sent it for a new link if you have more to send."
        )
    if link.expires_at <= (now or utcnow()):
        raise LinkUnavailable(
            f"This link expired on {link.expires_at:%d %B %Y}. Ask the officer who sent it "
            "for a new one."
        )
    return link


def _next_exhibit_reference(session: Session, link: SubmissionLink) -> str:
    prefix = f"{link.organisation}/PUBLIC/"
    count = session.scalar(
        select(func.count())
        .select_from(EvidenceItem)
        .where(
            EvidenceItem.case_urn == link.case_urn,
            EvidenceItem.exhibit_reference.startswith(prefix, autoescape=True),
        )
    )
    return f"{prefix}{int(count or 0) + 1}"


@dataclass(frozen=True)
class Submission:
    """What the member of the public tells us about the file."""

    filename: str
    media_type: str
    recorded_at: datetime
    recorded_where: str | None
    name: str | None
    contact: str | None
    note: str | None


def take_submission(
    session: Session,
    *,
    store: BlobStore,
    token: str,
    staged: Staged,
    submission: Submission,
) -> EvidenceItem:
    """Use the link once to take the staged file in as a new item; the caller commits.

    The link is marked used first, with a conditional update, so two uploads racing on one link
    cannot both succeed. The staged file is deleted if it is not taken in.
    """
    try:
        link = find_link(session, token)
        now = utcnow()
        claimed = session.execute(
            update(SubmissionLink)
            .where(SubmissionLink.id == link.id, SubmissionLink.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(claimed, "rowcount", 0) or 0) != 1:
            raise LinkUnavailable("This link has already been used to send a file.")
        session.refresh(link)
        # Who sent it stays with the link, for the holding force alone: the item's record, its
        # custody entries and any disclosure bundle say only that a member of the public did.
        link.sender_name = (submission.name or "").strip()[:200] or None
        link.sender_contact = (submission.contact or "").strip()[:500] or None
        details = service.ItemDetails(
            case_urn=CaseURN(link.case_urn),
            exhibit_reference=_next_exhibit_reference(session, link),
            description=_description(link, submission),
            seized_by=f"A member of the public, through submission link {link.id}",
            seized_at=submission.recorded_at,
            seized_from=submission.recorded_where,
            device=None,
            method="Sent by a member of the public through a submission link",
            media_type=submission.media_type,
            filename=submission.filename,
        )
        item = service.create_item(
            session,
            store=store,
            item_id=_new_id(),
            staged=staged,
            details=details,
            organisation=link.organisation,
            actor=f"link:{link.id}",
            actor_org=link.organisation,
            expected_sha256=None,
            via=VIA,
        )
        link.item_id = item.id
        session.flush()
        return item
    finally:
        staged.path.unlink(missing_ok=True)


def _new_id() -> str:
    return str(uuid.uuid4())


def _description(link: SubmissionLink, submission: Submission) -> str:
    parts = [f"Sent in answer to: {link.request_text}"]
    if submission.note:
        parts.append(f"What the sender said: {submission.note}")
    return "\n".join(parts)[:5000]
