"""The evidence vault's service: taking items in, who may open them, grants, retention, checks.

Every function takes the database session and the actor explicitly and records what it did in
the item's chain of custody (``evidence.custody``), in the caller's transaction; the caller
commits. The organisation that holds an item (the force that seized it) manages it; anyone
else needs a live grant naming them, made by that organisation for a purpose the sharing rules
allow their role (``policies/evidence-disclosure.yaml``). A read without one is refused, and the
refusal is itself a custody entry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from onestory.domain.identifiers import CaseURN
from onestory.evidence import custody, retention
from onestory.evidence.blobs import BLOCK, BlobError, BlobStore, Staged, hash_blob
from onestory.evidence.tables import (
    CustodyAction,
    EvidenceGrant,
    EvidenceItem,
    ItemStatus,
)
from onestory.ledger.log import lock_for_append
from onestory.sharing.authorize import Actor, Decision, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.store.base import utcnow

# Why the holding force handles its own evidence, and why others are given it.
HOLDER_PURPOSE = Purpose.INVESTIGATION
DISCLOSURE_PURPOSE = Purpose.PROSECUTION
MAX_GRANT_DAYS = 366


class EvidenceError(Exception):
    """Something about evidence that cannot be done as asked; the message says what and why."""


class HashMismatch(EvidenceError):
    """The bytes received do not hash to the SHA-256 the submitter gave; nothing was stored."""

    def __init__(self, given: str, computed: str) -> None:
        super().__init__(
            f"the file received hashes to SHA-256 {computed}, but the sender gave {given}: the "
            "file was changed or cut short on the way, so nothing was stored; send it again"
        )
        self.given = given
        self.computed = computed


class Refused(EvidenceError):
    """The actor may not do this to this item (already ledgered); pages answer 404."""


class Unavailable(EvidenceError):
    """The item's content cannot be given out: disposed of, or failed its integrity check."""


class IntegrityFailure(EvidenceError):
    """The stored bytes no longer hash to the item's SHA-256."""

    def __init__(self, item_id: str, expected: str, found: str) -> None:
        super().__init__(
            f"evidence item {item_id}: the stored content hashes to {found}, not to {expected} "
            "as recorded at acquisition; it has been withheld and the failure recorded"
        )
        self.item_id = item_id
        self.expected = expected
        self.found = found


class ItemDetails(BaseModel):
    """What is recorded about an item when it is taken in (ACPO principles, ISO/IEC 27037)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_urn: CaseURN
    exhibit_reference: str = Field(min_length=1, max_length=64, description="e.g. 'JS/1'")
    description: str = Field(min_length=1, max_length=5000)
    seized_by: str = Field(min_length=1, max_length=200, description="Who seized or produced it")
    seized_at: AwareDatetime
    seized_from: str | None = Field(default=None, max_length=500, description="Place or person")
    device: str | None = Field(default=None, max_length=500)
    method: str | None = Field(default=None, max_length=500, description="How it was acquired")
    media_type: str = Field(default="application/octet-stream", max_length=200)
    filename: str = Field(default="evidence", min_length=1, max_length=255)
    retention_schedule: str = retention.DEFAULT_SCHEDULE

    @field_validator("retention_schedule")
    @classmethod
    def _known_schedule(cls, value: str) -> str:
        retention.schedule(value)
        return value

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str) -> str:
        kind, _, sub = value.partition("/")
        if not kind or not sub or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not a media type such as image/jpeg")
        return value.lower()


def actor_org(actor: Actor) -> str | None:
    return actor.organisation_code


def _decision(
    session: Session, policies: PolicySet, actor: Actor, action: str, item_id: str, purpose: str
) -> Decision:
    return authorize(
        session,
        actor=actor,
        action=action,
        record=RecordRef(RecordKind.EVIDENCE, item_id),
        purpose=purpose,
        policies=policies,
    )


def _require(
    session: Session, policies: PolicySet, actor: Actor, action: str, item_id: str, purpose: str
) -> Decision:
    decision = _decision(session, policies, actor, action, item_id, purpose)
    if not decision.allowed:
        raise Refused(decision.reason)
    return decision


# --- taking items in ------------------------------------------------------------------------------


def add_item(
    session: Session,
    *,
    policies: PolicySet,
    store: BlobStore,
    actor: Actor,
    staged: Staged,
    details: ItemDetails,
    expected_sha256: str | None = None,
    via: str = "api",
    derived_from: EvidenceItem | None = None,
    derivation: str | None = None,
) -> EvidenceItem:
    """Take in a staged file as a new item held by the actor's organisation.

    Refuses (deleting the staged file, storing nothing) when the sender's hash does not match,
    when the rules do not let the actor create evidence, or when the case already has an item
    with that exhibit reference.
    """
    try:
        if expected_sha256 is not None and expected_sha256.lower() != staged.sha256:
            raise HashMismatch(expected_sha256.lower(), staged.sha256)
        org = actor_org(actor)
        if org is None:
            raise Refused("only staff of the organisation that holds evidence can add it")
        item_id = str(uuid.uuid4())
        _require(session, policies, actor, Action.CREATE, item_id, HOLDER_PURPOSE)
        return create_item(
            session,
            store=store,
            item_id=item_id,
            staged=staged,
            details=details,
            organisation=org,
            actor=actor.user_or_client_id,
            actor_org=org,
            expected_sha256=expected_sha256,
            via=via,
            derived_from=derived_from,
            derivation=derivation,
        )
    finally:
        staged.path.unlink(missing_ok=True)  # adopted files have moved; anything else goes


def create_item(
    session: Session,
    *,
    store: BlobStore,
    item_id: str,
    staged: Staged,
    details: ItemDetails,
    organisation: str,
    actor: str,
    actor_org: str | None,
    expected_sha256: str | None,
    via: str,
    derived_from: EvidenceItem | None = None,
    derivation: str | None = None,
) -> EvidenceItem:
    """Store the item and its first two custody entries; the caller has authorised it."""
    clash = session.scalar(
        select(EvidenceItem.id).where(
            EvidenceItem.case_urn == str(details.case_urn),
            EvidenceItem.exhibit_reference == details.exhibit_reference,
        )
    )
    if clash is not None:
        raise EvidenceError(
            f"case {details.case_urn} already has an exhibit {details.exhibit_reference!r}; "
            "give this one its own exhibit reference"
        )
    schedule = retention.schedule(details.retention_schedule)
    item = EvidenceItem(
        id=item_id,
        case_urn=str(details.case_urn),
        exhibit_reference=details.exhibit_reference,
        description=details.description,
        organisation=organisation,
        seized_by=details.seized_by,
        seized_at=details.seized_at,
        seized_from=details.seized_from,
        device=details.device,
        method=details.method,
        sha256=staged.sha256,
        size_bytes=staged.size,
        media_type=details.media_type,
        filename=details.filename,
        derived_from_id=derived_from.id if derived_from else None,
        derivation=derivation,
        retention_schedule=schedule.id,
        retain_until=schedule.until(details.seized_at),
        status=ItemStatus.HELD,
        created_by=actor,
    )
    session.add(item)
    try:
        session.flush()
    except IntegrityError as exc:
        raise EvidenceError(
            f"case {details.case_urn} already has an exhibit {details.exhibit_reference!r}"
        ) from exc
    custody.record(
        session,
        item,
        CustodyAction.ACQUIRED,
        actor=actor,
        actor_org=actor_org,
        purpose=HOLDER_PURPOSE,
        details=custody.acquisition_details(item),
    )
    # The blob goes in now, under the ledger's append lock (the entry above took it), and before
    # the commit: a committed item always has its bytes, and a disposal cannot delete content this
    # item is about to share (``release_content`` takes the same lock). If the commit then fails,
    # the blob is an orphan the check sweep reports, never a missing exhibit.
    store.adopt(staged)
    custody.record(
        session,
        item,
        CustodyAction.UPLOADED,
        actor=actor,
        actor_org=actor_org,
        purpose=HOLDER_PURPOSE,
        details={
            "sizeBytes": staged.size,
            "via": via,
            "senderSha256": expected_sha256.lower() if expected_sha256 else None,
            "retentionSchedule": schedule.id,
            "retainUntil": item.retain_until.isoformat(),
        },
    )
    if derived_from is not None:
        custody.record(
            session,
            derived_from,
            CustodyAction.DERIVED,
            actor=actor,
            actor_org=actor_org,
            purpose=HOLDER_PURPOSE,
            details={"copy": item.id, "copySha256": item.sha256, "derivation": derivation},
        )
    # A live grant of the whole case covers the new item too: say so in its custody.
    for grant in _live_case_grants(session, item.case_urn, organisation):
        _record_shared(session, item, grant, actor=grant.granted_by, actor_org=organisation)
    return item


def _live_case_grants(session: Session, case_urn: str, organisation: str) -> list[EvidenceGrant]:
    return list(
        session.scalars(
            select(EvidenceGrant).where(
                EvidenceGrant.case_urn == case_urn,
                EvidenceGrant.organisation == organisation,
                EvidenceGrant.item_id.is_(None),
                EvidenceGrant.revoked_at.is_(None),
                EvidenceGrant.expires_at > utcnow(),
            )
        )
    )


def _record_shared(
    session: Session,
    item: EvidenceItem,
    grant: EvidenceGrant,
    *,
    actor: str,
    actor_org: str | None,
    at: datetime | None = None,
) -> None:
    grantee = session.get_one(UserAccount, grant.grantee_user_id)
    custody.record(
        session,
        item,
        CustodyAction.SHARED,
        actor=actor,
        actor_org=actor_org,
        purpose=grant.purpose,
        details={
            "grant": grant.id,
            "grantee": f"user:{grantee.id}",
            "granteeRole": grantee.role,
            "granteeOrg": grantee.organisation.code if grantee.organisation else None,
            "expiresAt": grant.expires_at.isoformat(),
            "wholeCase": grant.item_id is None,
        },
        at=at,
    )


# --- who may open an item -------------------------------------------------------------------------


def live_grant(
    session: Session, actor: Actor, item: EvidenceItem, now: datetime | None = None
) -> EvidenceGrant | None:
    """The actor's grant that covers ``item`` now, if any (people only: grants name users)."""
    user_id = _user_id(actor)
    if user_id is None:
        return None
    moment = now or utcnow()
    return session.scalar(
        select(EvidenceGrant)
        .where(
            EvidenceGrant.grantee_user_id == user_id,
            EvidenceGrant.case_urn == item.case_urn,
            EvidenceGrant.organisation == item.organisation,
            or_(EvidenceGrant.item_id.is_(None), EvidenceGrant.item_id == item.id),
            EvidenceGrant.revoked_at.is_(None),
            EvidenceGrant.expires_at > moment,
        )
        .order_by(EvidenceGrant.expires_at.desc())
        .limit(1)
    )


def _ended_grant(session: Session, actor: Actor, item: EvidenceItem) -> EvidenceGrant | None:
    user_id = _user_id(actor)
    if user_id is None:
        return None
    return session.scalar(
        select(EvidenceGrant)
        .where(
            EvidenceGrant.grantee_user_id == user_id,
            EvidenceGrant.case_urn == item.case_urn,
            EvidenceGrant.organisation == item.organisation,
            or_(EvidenceGrant.item_id.is_(None), EvidenceGrant.item_id == item.id),
        )
        .order_by(EvidenceGrant.granted_at.desc())
        .limit(1)
    )


def _user_id(actor: Actor) -> int | None:
    prefix = "user:"
    if actor.user_or_client_id.startswith(prefix):
        try:
            return int(actor.user_or_client_id[len(prefix) :])
        except ValueError:
            return None
    return None


def is_holder(actor: Actor, item: EvidenceItem) -> bool:
    """Whether the actor works for the organisation that holds the item."""
    return actor.organisation_code is not None and actor.organisation_code == item.organisation


def may_see(session: Session, actor: Actor, item: EvidenceItem) -> bool:
    """Whether the item should be listed for the actor (no ledger entry: lists show metadata
    the actor's organisation or grant already covers; opening the content is ``open_item``)."""
    return is_holder(actor, item) or live_grant(session, actor, item) is not None


def open_item(
    session: Session,
    *,
    policies: PolicySet,
    actor: Actor,
    item: EvidenceItem,
    action: CustodyAction = CustodyAction.VIEWED,
) -> Decision:
    """Decide whether the actor may have the item's content now, and record the outcome.

    Allowed: a ``viewed`` or ``downloaded`` custody entry. Refused (no live grant, a revoked or
    expired one, or the rules say no): an ``access_refused`` custody entry with the reason, then
    ``Refused``. A disposed or tampered item raises ``Unavailable`` after the access is recorded.
    """
    if is_holder(actor, item):
        purpose: str = HOLDER_PURPOSE
        decision = _decision(session, policies, actor, Action.READ, item.id, purpose)
        reason = decision.reason
    else:
        grant = live_grant(session, actor, item)
        if grant is None:
            ended = _ended_grant(session, actor, item)
            decision = Decision(False, None, _no_grant_reason(ended))
            purpose = ended.purpose if ended else DISCLOSURE_PURPOSE
            reason = decision.reason
        else:
            purpose = grant.purpose
            decision = _decision(session, policies, actor, Action.READ, item.id, purpose)
            reason = decision.reason
    withheld = _withheld(item) if decision.allowed else None
    if not decision.allowed or withheld is not None:
        custody.record(
            session,
            item,
            CustodyAction.ACCESS_REFUSED,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=purpose,
            details={"attempted": str(action), "reason": withheld or reason},
        )
        if withheld is not None:
            raise Unavailable(withheld)
        raise Refused(reason)
    custody.record(
        session,
        item,
        action,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=purpose,
    )
    return decision


def _withheld(item: EvidenceItem) -> str | None:
    """Why the item's content cannot be given out, if it cannot."""
    if item.status == ItemStatus.DISPOSED:
        return f"exhibit {item.exhibit_reference} was disposed of: only its record is kept"
    if item.integrity_failed_at is not None:
        return (
            f"exhibit {item.exhibit_reference} failed its integrity check on "
            f"{item.integrity_failed_at:%d %B %Y}: its content is withheld"
        )
    return None


def _no_grant_reason(ended: EvidenceGrant | None) -> str:
    if ended is None:
        return "no grant gives this user access to this item"
    if ended.revoked_at is not None:
        return f"access was revoked on {ended.revoked_at:%d %B %Y at %H:%M} UTC"
    return f"access expired on {ended.expires_at:%d %B %Y at %H:%M} UTC"


def read_verified(
    store: BlobStore,
    item: EvidenceItem,
    on_failure: Callable[[str], None],
    block: int = BLOCK,
) -> Iterator[bytes]:
    """The item's bytes in blocks, hashed on the way out.

    If what was read does not hash to the item's SHA-256 (or is missing), ``on_failure`` is
    called with the hash found and ``IntegrityFailure`` raised in place of the last block, so a
    reader never receives a complete copy of altered evidence without being told.
    """
    hasher = hashlib.sha256()
    try:
        source = store.open(item.sha256)
    except BlobError:
        on_failure("missing")
        raise IntegrityFailure(item.id, item.sha256, "missing") from None
    with source:
        pending = source.read(block)
        while pending:
            hasher.update(pending)
            following = source.read(block)
            if not following:
                break
            yield pending
            pending = following
        found = hasher.hexdigest()
        if found != item.sha256:
            on_failure(found)
            raise IntegrityFailure(item.id, item.sha256, found)
        if pending:
            yield pending


def record_integrity_failure(
    sessions: sessionmaker[Session], item_id: str, found: str, *, detected_by: str
) -> None:
    """Mark every held item with the failed blob's hash, and ledger it, in a transaction of its
    own (the read that found it may be in the middle of a response)."""
    with sessions() as session:
        item = session.get(EvidenceItem, item_id)
        if item is None:
            return
        mark_failed(session, item.sha256, found, detected_by=detected_by)
        session.commit()


def mark_failed(session: Session, sha256: str, found: str, *, detected_by: str) -> int:
    """Record an integrity failure on every held item stored as ``sha256``; how many."""
    now = utcnow()
    items = session.scalars(
        select(EvidenceItem).where(
            EvidenceItem.sha256 == sha256, EvidenceItem.status == ItemStatus.HELD
        )
    ).all()
    for item in items:
        first = item.integrity_failed_at is None
        item.integrity_failed_at = item.integrity_failed_at or now
        if first:
            custody.record(
                session,
                item,
                CustodyAction.INTEGRITY_FAILED,
                actor=detected_by,
                actor_org=None,
                details={"foundSha256": found},
                at=now,
            )
    return len(items)


# --- grants -------------------------------------------------------------------------------------


def items_of_case(session: Session, case_urn: str) -> list[EvidenceItem]:
    """Every item of a case, by exhibit reference."""
    return list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.case_urn == case_urn)
            .order_by(EvidenceItem.exhibit_reference, EvidenceItem.created_at)
        )
    )


def grant_access(
    session: Session,
    *,
    policies: PolicySet,
    actor: Actor,
    case_urn: str,
    item: EvidenceItem | None,
    grantee: UserAccount,
    expires_at: datetime,
    purpose: str = DISCLOSURE_PURPOSE,
) -> EvidenceGrant:
    """Give a named user access to one item, or to every item of a case, until ``expires_at``.

    Only the holding organisation's staff may, when the rules let them share evidence for the
    purpose and let the grantee's role read it for that purpose.
    """
    now = utcnow()
    if expires_at <= now:
        raise EvidenceError("the access must end in the future")
    if (expires_at - now).days > MAX_GRANT_DAYS:
        raise EvidenceError(f"access can be given for at most {MAX_GRANT_DAYS} days at a time")
    org = actor.organisation_code
    if org is None:
        raise Refused("only staff of the organisation that holds evidence can share it")
    if item is not None and not is_holder(actor, item):
        raise Refused(f"exhibit {item.exhibit_reference} is held by another organisation")
    covered = [item] if item is not None else held_items_of_case(session, case_urn, org)
    if not covered:
        raise EvidenceError(f"your organisation holds no evidence on case {case_urn} to share")
    _require(session, policies, actor, Action.SHARE, covered[0].id, purpose)
    if not policies.lookup(grantee.role, Action.READ, RecordKind.EVIDENCE, purpose):
        raise EvidenceError(
            f"{grantee.display_name} is a {grantee.role.replace('_', ' ')}: no agreement lets "
            f"that role read evidence for {purpose.replace('_', ' ')}"
        )
    grant = EvidenceGrant(
        case_urn=case_urn,
        organisation=org,
        item_id=item.id if item is not None else None,
        grantee_user_id=grantee.id,
        purpose=purpose,
        granted_by=actor.user_or_client_id,
        granted_at=now,
        expires_at=expires_at,
    )
    session.add(grant)
    session.flush()
    for one in covered:
        _record_shared(session, one, grant, actor=actor.user_or_client_id, actor_org=org, at=now)
    return grant


def held_items_of_case(session: Session, case_urn: str, organisation: str) -> list[EvidenceItem]:
    """The items of a case that one organisation holds."""
    return [i for i in items_of_case(session, case_urn) if i.organisation == organisation]


def revoke_grant(
    session: Session, *, policies: PolicySet, actor: Actor, grant: EvidenceGrant
) -> None:
    """End a grant now; each item it covered records the revocation."""
    if grant.revoked_at is not None:
        raise EvidenceError("that access was already revoked")
    if actor.organisation_code != grant.organisation:
        raise Refused("only the organisation that made the grant can revoke it")
    covered = (
        [session.get_one(EvidenceItem, grant.item_id)]
        if grant.item_id is not None
        else held_items_of_case(session, grant.case_urn, grant.organisation)
    )
    if covered:
        _require(session, policies, actor, Action.SHARE, covered[0].id, grant.purpose)
    now = utcnow()
    grant.revoked_at = now
    grant.revoked_by = actor.user_or_client_id
    for one in covered:
        custody.record(
            session,
            one,
            CustodyAction.ACCESS_REVOKED,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=grant.purpose,
            details={"grant": grant.id, "grantee": f"user:{grant.grantee_user_id}"},
            at=now,
        )


def grants_of_case(session: Session, case_urn: str) -> list[EvidenceGrant]:
    """Every grant on a case, newest first."""
    return list(
        session.scalars(
            select(EvidenceGrant)
            .where(EvidenceGrant.case_urn == case_urn)
            .order_by(EvidenceGrant.granted_at.desc())
        )
    )


# --- retention and disposal -----------------------------------------------------------------------


def change_retention(
    session: Session,
    *,
    policies: PolicySet,
    actor: Actor,
    item: EvidenceItem,
    schedule_id: str | None = None,
    until: datetime | None = None,
    reason: str,
) -> None:
    """Put the item on another schedule, or set its retention date; the reason is recorded."""
    if not reason.strip():
        raise EvidenceError("say why the retention is changing")
    if not is_holder(actor, item):
        raise Refused("only the organisation that holds the item can change its retention")
    _require(session, policies, actor, Action.UPDATE, item.id, HOLDER_PURPOSE)
    if item.status == ItemStatus.DISPOSED:
        raise EvidenceError(f"exhibit {item.exhibit_reference} was already disposed of")
    before = item.retain_until
    if schedule_id is not None:
        schedule = retention.schedule(schedule_id)
        item.retention_schedule = schedule.id
        item.retain_until = schedule.until(item.seized_at)
    if until is not None:
        if until < utcnow():
            # A date in the past would let an item be disposed of at once, skipping the floor
            # the schedules keep; an ended retention comes only from a schedule.
            raise EvidenceError(
                "a retention date cannot be in the past; to end retention, choose the schedule "
                "that applies (for example no further action)"
            )
        item.retain_until = until
    custody.record(
        session,
        item,
        CustodyAction.RETENTION_CHANGED,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=HOLDER_PURPOSE,
        details={
            "schedule": item.retention_schedule,
            "from": before.isoformat(),
            "to": item.retain_until.isoformat(),
            "reason": reason.strip(),
        },
    )


def dispose(
    session: Session,
    *,
    item: EvidenceItem,
    actor: str,
    actor_org: str | None,
    reason: str,
    now: datetime | None = None,
) -> str | None:
    """Dispose of an item at the end of its retention, keeping hash, metadata and custody.

    Returns the hash whose content no held item needs any more (None when another held item
    shares it): after committing, pass it to ``release_content``, which deletes the bytes. They
    are not deleted here, so a transaction that fails to commit leaves the item held with its
    content. The caller has authorised the actor (``dispose_by``, or the retention sweep running
    as the operator).
    """
    moment = now or utcnow()
    lock_for_append(session)  # intake adopts content under this lock: decide on a stable view
    if item.status == ItemStatus.DISPOSED:
        raise EvidenceError(f"exhibit {item.exhibit_reference} was already disposed of")
    if item.retain_until > moment:
        raise retention.RetentionError(
            f"exhibit {item.exhibit_reference} is to be kept until {item.retain_until:%d %B %Y}; "
            "change its retention first if it should go sooner"
        )
    item.status = ItemStatus.DISPOSED
    item.disposed_at = moment
    session.flush()
    others = session.scalar(
        select(EvidenceItem.id).where(
            EvidenceItem.sha256 == item.sha256,
            EvidenceItem.status == ItemStatus.HELD,
            EvidenceItem.id != item.id,
        )
    )
    custody.record(
        session,
        item,
        CustodyAction.DISPOSED,
        actor=actor,
        actor_org=actor_org,
        purpose=HOLDER_PURPOSE,
        details={"reason": reason, "contentDeleted": others is None},
        at=moment,
    )
    return item.sha256 if others is None else None


def dispose_by(
    session: Session,
    *,
    policies: PolicySet,
    actor: Actor,
    item: EvidenceItem,
    reason: str,
) -> str | None:
    """An officer of the holding organisation disposes of an item whose retention has ended;
    returns what ``dispose`` returns."""
    if not is_holder(actor, item):
        raise Refused("only the organisation that holds the item can dispose of it")
    _require(session, policies, actor, Action.UPDATE, item.id, HOLDER_PURPOSE)
    return dispose(
        session,
        item=item,
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        reason=reason,
    )


def release_content(session: Session, store: BlobStore, sha256: str) -> bool:
    """Delete disposed content no held item needs, and commit; whether it was deleted.

    Under the ledger's append lock, which intake holds while it adopts content: an item being
    taken in with the same bytes either committed first (and keeps them) or adopts them afresh.
    """
    lock_for_append(session)
    needed = session.scalar(
        select(EvidenceItem.id)
        .where(EvidenceItem.sha256 == sha256, EvidenceItem.status == ItemStatus.HELD)
        .limit(1)
    )
    deleted = needed is None and store.has(sha256)
    if deleted:
        store.delete(sha256)
    session.commit()
    return deleted


def release_disposed(session: Session, store: BlobStore) -> int:
    """Delete content still stored for disposed items that no held item needs (a disposal
    whose deletion was interrupted); how many blobs went."""
    disposed = set(
        session.scalars(
            select(EvidenceItem.sha256).where(EvidenceItem.status == ItemStatus.DISPOSED)
        )
    )
    session.rollback()
    return sum(release_content(session, store, h) for h in sorted(disposed) if store.has(h))


def due_for_disposal(session: Session, now: datetime | None = None) -> list[EvidenceItem]:
    """Held items whose retention date has passed."""
    moment = now or utcnow()
    return list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.status == ItemStatus.HELD, EvidenceItem.retain_until <= moment)
            .order_by(EvidenceItem.retain_until)
        )
    )


# --- the integrity sweep --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFinding:
    """A stored blob that no longer matches its items' hash (or is missing)."""

    sha256: str
    found: str
    items: int


@dataclass(frozen=True)
class CheckReport:
    """What a sweep looked at and found."""

    blobs_checked: int
    bytes_checked: int
    failures: list[CheckFinding]
    orphans: list[str]


def check_store(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    actor: str = "system:evidence-check",
    progress: Callable[[int], None] | None = None,
) -> CheckReport:
    """Re-hash every blob that held items rely on; record each failure on its items.

    ``progress`` is called with the number of bytes read as the sweep goes. Blobs no item
    refers to (left by a failed commit) are reported as orphans, not deleted.
    """
    with sessions() as session:
        wanted = dict(
            session.execute(
                select(EvidenceItem.sha256, EvidenceItem.size_bytes)
                .where(EvidenceItem.status == ItemStatus.HELD)
                .distinct()
            ).all()
        )
        known = set(session.scalars(select(EvidenceItem.sha256).distinct()))
    failures: list[CheckFinding] = []
    checked = 0
    read = 0
    for sha256 in sorted(wanted):
        try:
            found = hash_blob(store, sha256)
        except BlobError:
            found = "missing"
        checked += 1
        size = int(wanted[sha256])
        read += size
        if progress is not None:
            progress(size)
        if found != sha256:
            with sessions() as session:
                count = mark_failed(session, sha256, found, detected_by=actor)
                session.commit()
            failures.append(CheckFinding(sha256, found, count))
    orphans = [h for h in store.iter_hashes() if h not in known]
    return CheckReport(checked, read, failures, orphans)
