"""Who is asking, about which record, and the one gate every read and change goes through.

A victim acts as themselves: their actor carries their victim id as ``subject_id``, so the
"your own records" agreement matches only records about them. Staff act for their
organisation. ``require`` asks ``sharing.authorize`` (which ledgers the decision) and raises
``NotAllowed`` on a refusal; pages turn that into 404, so nobody learns that a record they may
not see exists.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import Actor, Decision, RecordRef, authorize
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import RecordKind
from onestory.victims.tables import Complaint, Story, Victim


class NotAllowed(Exception):
    """The sharing rules refused; the decision (already ledgered) says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def not_found(what: str) -> NotAllowed:
    """The refusal for a record that does not exist: the same answer as for one not yours."""
    return NotAllowed(Decision(False, None, f"no {what}"))


def staff_actor(user: UserAccount) -> Actor:
    """A signed-in member of staff, acting for their organisation."""
    return account_actor(user)


def victim_actor(user: UserAccount, victim: Victim | None) -> Actor:
    """A signed-in victim, acting for themselves."""
    return Actor(
        user_or_client_id=f"user:{user.id}",
        role=user.role,
        organisation_code=None,
        organisation_kind=None,
        subject_id=victim.id if victim else None,
    )


def victim_record(victim_id: str) -> RecordRef:
    """Who the victim is: name, date of birth, contact details."""
    return RecordRef(RecordKind.VICTIM, victim_id, victim_id)


def contact_record(victim_id: str) -> RecordRef:
    """The victim's needs and safe-contact instructions."""
    return RecordRef(RecordKind.VICTIM_CONTACT, victim_id, victim_id)


def story_record(story: Story) -> RecordRef:
    """What happened, in the victim's words (every version)."""
    return RecordRef(RecordKind.VICTIM_STORY, story.reference, story.victim_id)


def complaint_record(complaint: Complaint, victim_id: str) -> RecordRef:
    """A victim's complaint to one organisation, and its reply."""
    return RecordRef(RecordKind.COMPLAINT, complaint.reference, victim_id)


def case_record(story: Story) -> RecordRef:
    """The case as the victim follows it: the timeline of what the agencies did."""
    return RecordRef(RecordKind.CASE, story.reference, story.victim_id)


def require(
    session: Session,
    policies: PolicySet,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
    justification: str | None = None,
) -> Decision:
    """Allow, or raise ``NotAllowed``; the decision is ledgered either way."""
    decision = authorize(
        session,
        actor=actor,
        action=action,
        record=record,
        purpose=purpose,
        justification=justification,
        policies=policies,
    )
    if not decision.allowed:
        raise NotAllowed(decision)
    return decision


def may(
    session: Session,
    policies: PolicySet,
    actor: Actor,
    action: str,
    record: RecordRef,
    purpose: str,
) -> bool:
    """Whether the rules allow it now (ledgered like any other decision)."""
    return authorize(
        session, actor=actor, action=action, record=record, purpose=purpose, policies=policies
    ).allowed
