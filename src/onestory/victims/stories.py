"""Telling the story once, changing it later, and reading it -- every step through the rules.

The victim's answers build up in a draft kept in the database (so an expired session loses
nothing) and become a story in one transaction when they press "Submit": the victim's details,
their needs and safe-contact instructions, the first version of what happened, their consent
choices (ledgered), the organisations it goes to, the first Victims' Code duty clock and a
confirmation message in the outbox. A second press of "Submit" finds the same story.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.sharing.authorize import Actor
from onestory.sharing.consent import grant_consent, withdraw_consent
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import Organisation, UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.store.base import utcnow
from onestory.victims.access import (
    NotAllowed,
    complaint_record,
    contact_record,
    not_found,
    require,
    story_record,
    victim_actor,
    victim_record,
)
from onestory.victims.routing import RecipientOption, recipient_options
from onestory.victims.tables import (
    Complaint,
    ContactPreferences,
    PersonalStatement,
    Story,
    StoryDraft,
    StoryRecipient,
    StoryVersion,
    Victim,
)
from onestory.victims.timeline import (
    COMPLAINT_ANSWERED,
    close_duties,
    complaint_answered,
    open_complaint_duty,
    open_story_duties,
    story_received,
)

# Unambiguous letters and digits (no 0/O, 1/I/L) for references read out over the phone.
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_STORY_CHARACTERS = 100_000

# Circumstances that entitle a victim to enhanced rights (Victims' Code, "enhanced rights").
ENHANCED_CIRCUMSTANCES: dict[str, str] = {
    "domestic_abuse": "Domestic abuse",
    "sexual_offence": "A sexual offence",
    "hate_crime": "A hate crime",
    "bereaved": "You are a close relative of someone who died because of a crime",
    "persistently_targeted": "You have been targeted repeatedly",
    "vulnerable_or_intimidated": "You feel vulnerable or intimidated",
    "under_18": "You were under 18 when it happened",
    "terrorism": "Terrorism",
    "attempted_murder": "Attempted murder",
}


class StoryError(ValueError):
    """Answers that cannot become a story; ``page`` is the question to go back to."""

    def __init__(self, message: str, page: str) -> None:
        super().__init__(message)
        self.page = page


def new_reference(prefix: str = "OS") -> str:
    """A reference such as OS-7KQM-3XWD: easy to read out, hard to guess."""
    chars = [secrets.choice(_REFERENCE_ALPHABET) for _ in range(8)]
    return f"{prefix}-{''.join(chars[:4])}-{''.join(chars[4:])}"


# --- the draft -------------------------------------------------------------------------------


def load_draft(session: Session, account_id: int) -> StoryDraft:
    """The account's draft, made empty if there is none."""
    draft = session.get(StoryDraft, account_id)
    if draft is None:
        draft = StoryDraft(account_id=account_id, token=secrets.token_urlsafe(24), answers={})
        session.add(draft)
        session.flush()
    return draft


def save_answer(session: Session, account_id: int, page: str, answer: Mapping[str, Any]) -> None:
    """Keep one page's answer in the draft (the caller commits)."""
    draft = load_draft(session, account_id)
    answers = dict(draft.answers)
    answers[page] = dict(answer)
    draft.answers = answers  # a new dict, so the JSON column sees the change


# --- submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """The story and whether this call made it (False: it was a second press of Submit)."""

    story: Story
    created: bool
    options: tuple[RecipientOption, ...] = field(default=())


def victim_for_account(session: Session, account_id: int) -> Victim | None:
    """The victim record of a signed-in member of the public, if they have told a story."""
    return session.scalar(select(Victim).where(Victim.account_id == account_id))


def _answer(answers: Mapping[str, Any], page: str) -> Mapping[str, Any]:
    value = answers.get(page)
    if not isinstance(value, Mapping):
        raise StoryError("This question has not been answered yet", page)
    return value


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def submit_story(
    session: Session,
    policies: PolicySet,
    *,
    user: UserAccount,
    draft_token: str,
    now: datetime | None = None,
) -> Submitted:
    """Turn the account's draft into a story (the caller commits).

    ``draft_token`` is the token the check-answers page was rendered with: a second submission
    with it returns the story the first one made.
    """
    now = now or utcnow()
    done = session.scalar(select(Story).where(Story.submission_token == draft_token))
    if done is not None:
        return Submitted(done, created=False)
    draft = session.get(StoryDraft, user.id)
    if draft is None or draft.token != draft_token:
        raise StoryError(
            "These answers were already sent or have changed; check them again", "check-answers"
        )
    answers = draft.answers
    about = _answer(answers, "about-you")
    what = _answer(answers, "what-happened")
    when_where = _answer(answers, "when-and-where")
    crime = answers.get("crime-reference") or {}
    language = _answer(answers, "language")
    needs = answers.get("support-needs") or {}
    circumstances = list((answers.get("circumstances") or {}).get("circumstances", []))
    contact = _answer(answers, "contact")
    safe = answers.get("safe-times") or {}
    choices: Mapping[str, str] = (answers.get("who-can-see") or {}).get("choices", {})
    police_area = str(when_where.get("police_area") or "")
    options = recipient_options(session, policies, police_area)
    if not any(o.organisation_kind == "police" for o in options):
        raise StoryError("Choose the police force area where it happened", "when-and-where")
    missing = [o for o in options if o.consent_required and choices.get(o.key) not in {"yes", "no"}]
    if missing:
        raise StoryError(
            f"Choose whether {missing[0].organisation_name} may receive your story", "who-can-see"
        )

    victim = victim_for_account(session, user.id)
    if victim is None:
        victim = Victim(id=str(uuid.uuid4()), account_id=user.id, full_name="")
        session.add(victim)
    actor = victim_actor(user, victim)
    own = Purpose.OWN_ACCESS
    require(session, policies, actor, Action.CREATE, victim_record(victim.id), own)
    victim.full_name = str(about["full_name"])
    victim.date_of_birth = _date(about.get("date_of_birth"))
    victim.email = about.get("email") or None
    victim.phone = about.get("phone") or None
    session.flush()

    require(session, policies, actor, Action.CREATE, contact_record(victim.id), own)
    prefs = session.get(ContactPreferences, victim.id) or ContactPreferences(victim_id=victim.id)
    prefs.language = str(language.get("language", "en"))
    prefs.other_language = language.get("other_language") or None
    prefs.interpreter = bool(language.get("interpreter"))
    prefs.accessibility = needs.get("accessibility") or None
    prefs.disability = needs.get("disability") or None
    prefs.circumstances = circumstances
    prefs.channels = list(contact.get("channels", []))
    prefs.safe_times = list(safe.get("safe_times", []))
    prefs.no_messages = bool(safe.get("no_messages"))
    session.add(prefs)

    story = Story(
        reference=new_reference(),
        victim_id=victim.id,
        police_area=police_area,
        enhanced=any(c in ENHANCED_CIRCUMSTANCES for c in circumstances),
        crime_reference=crime.get("crime_reference") or None,
        submitted_at=now,
        submission_token=draft_token,
    )
    session.add(story)
    session.flush()
    require(session, policies, actor, Action.CREATE, story_record(story), own)
    session.add(
        StoryVersion(
            story_id=story.id,
            version=1,
            what_happened=str(what["what_happened"]),
            happened_on=_date(when_where.get("happened_on")),
            happened_where=when_where.get("happened_where") or None,
            crime_reference=story.crime_reference,
            changed=[],
            created_at=now,
        )
    )
    for option in options:
        if option.consent_required:
            change = grant_consent if choices.get(option.key) == "yes" else withdraw_consent
            change(
                session,
                actor=actor,
                subject_id=victim.id,
                organisation_kind=option.organisation_kind,
                organisation_code=option.organisation_code,
                purpose=option.purpose,
            )
            if choices.get(option.key) != "yes":
                continue
        session.add(
            StoryRecipient(
                story_id=story.id,
                organisation_code=option.organisation_code,
                organisation_kind=option.organisation_kind,
                purpose=option.purpose,
                agreement_id=option.agreements[0].id,
                added_at=now,
            )
        )
    support = [choices.get(o.key) for o in options if o.purpose == Purpose.VICTIM_SUPPORT]
    session.delete(draft)
    session.flush()
    open_story_duties(session, story, support_referred=("yes" in support) if support else None)
    story_received(session, story)
    return Submitted(story, created=True, options=tuple(options))


def add_recipient(session: Session, story: Story, option: RecipientOption) -> StoryRecipient:
    """Route the story to one more organisation (after the victim consents), once."""
    row = session.scalar(
        select(StoryRecipient).where(
            StoryRecipient.story_id == story.id,
            StoryRecipient.organisation_code == option.organisation_code,
            StoryRecipient.purpose == option.purpose,
        )
    )
    if row is None:
        row = StoryRecipient(
            story_id=story.id,
            organisation_code=option.organisation_code,
            organisation_kind=option.organisation_kind,
            purpose=option.purpose,
            agreement_id=option.agreements[0].id,
        )
        session.add(row)
        session.flush()
    return row


# --- changing it afterwards ------------------------------------------------------------------

STORY_FIELDS = ("what_happened", "happened_on", "happened_where", "crime_reference")
FIELD_WORDS = {
    "what_happened": "What happened",
    "happened_on": "When it happened",
    "happened_where": "Where it happened",
    "crime_reference": "Crime reference number",
}


def update_story(
    session: Session,
    policies: PolicySet,
    *,
    actor: Actor,
    story: Story,
    what_happened: str,
    happened_on: date | None,
    happened_where: str | None,
    crime_reference: str | None,
    now: datetime | None = None,
) -> StoryVersion | None:
    """Add a version with what changed; None when nothing did (no empty versions)."""
    require(session, policies, actor, Action.UPDATE, story_record(story), Purpose.OWN_ACCESS)
    latest = story.versions[-1]
    new: dict[str, Any] = {
        "what_happened": what_happened,
        "happened_on": happened_on,
        "happened_where": happened_where or None,
        "crime_reference": crime_reference or None,
    }
    changed = [name for name in STORY_FIELDS if getattr(latest, name) != new[name]]
    if not changed:
        return None
    version = StoryVersion(
        version=latest.version + 1,
        changed=changed,
        created_at=now or utcnow(),
        **new,
    )
    story.versions.append(version)
    story.current_version = version.version
    story.crime_reference = crime_reference or story.crime_reference
    session.flush()
    return version


def save_personal_statement(
    session: Session,
    policies: PolicySet,
    *,
    actor: Actor,
    story: Story,
    text: str | None,
    now: datetime | None = None,
) -> PersonalStatement:
    """Write, rewrite or (with ``text=None``) withdraw the Victim Personal Statement."""
    action = Action.CREATE if not statements(session, story.id) else Action.UPDATE
    require(session, policies, actor, action, story_record(story), Purpose.OWN_ACCESS)
    previous = statements(session, story.id)
    statement = PersonalStatement(
        story_id=story.id,
        version=(previous[-1].version + 1) if previous else 1,
        text=text,
        withdrawn=text is None,
        created_at=now or utcnow(),
    )
    session.add(statement)
    session.flush()
    return statement


def statements(session: Session, story_id: int) -> list[PersonalStatement]:
    """Every version of the story's personal statement, oldest first."""
    return list(
        session.scalars(
            select(PersonalStatement)
            .where(PersonalStatement.story_id == story_id)
            .order_by(PersonalStatement.version)
        )
    )


def make_complaint(
    session: Session,
    policies: PolicySet,
    *,
    actor: Actor,
    story: Story,
    organisation_code: str,
    text: str,
    now: datetime | None = None,
) -> Complaint:
    """Record a complaint (Right 12) to one organisation; it starts its own clock (R12.1)."""
    known = session.scalar(select(Organisation.id).where(Organisation.code == organisation_code))
    if known is None:
        raise StoryError("Choose the organisation you are complaining about", "complaint")
    complaint = Complaint(
        reference=new_reference("CM"),
        story_id=story.id,
        organisation_code=organisation_code,
        text=text,
        received_at=now or utcnow(),
    )
    require(
        session,
        policies,
        actor,
        Action.CREATE,
        complaint_record(complaint, story.victim_id),
        Purpose.OWN_ACCESS,
    )
    session.add(complaint)
    session.flush()
    open_complaint_duty(session, story, complaint.id, organisation_code)
    return complaint


def complaints_to(session: Session, organisation_code: str | None) -> Sequence[Complaint]:
    """The complaints made to an organisation, unanswered first, newest first."""
    if not organisation_code:
        return []
    return session.scalars(
        select(Complaint)
        .where(Complaint.organisation_code == organisation_code)
        .order_by(Complaint.answered_at.is_not(None), Complaint.received_at.desc())
    ).all()


def complaints_about(session: Session, story_id: int) -> Sequence[Complaint]:
    """A story's complaints, oldest first."""
    return session.scalars(
        select(Complaint).where(Complaint.story_id == story_id).order_by(Complaint.received_at)
    ).all()


def read_complaint(
    session: Session, policies: PolicySet, actor: Actor, reference: str
) -> tuple[Complaint, Story]:
    """A complaint, for the organisation it was made to (anyone else: ``NotAllowed``)."""
    complaint = session.scalar(select(Complaint).where(Complaint.reference == reference))
    if complaint is None or complaint.organisation_code != actor.organisation_code:
        raise not_found(f"complaint {reference!r}")
    story = session.get(Story, complaint.story_id)
    assert story is not None  # a complaint's story is a foreign key
    require(
        session,
        policies,
        actor,
        Action.READ,
        complaint_record(complaint, story.victim_id),
        Purpose.COMPLAINT_HANDLING,
    )
    return complaint, story


def answer_complaint(
    session: Session,
    policies: PolicySet,
    *,
    actor: Actor,
    complaint: Complaint,
    story: Story,
    answer: str,
    now: datetime | None = None,
) -> None:
    """Reply to a complaint: meets R12.1 at the reply, and tells the victim there is one."""
    require(
        session,
        policies,
        actor,
        Action.UPDATE,
        complaint_record(complaint, story.victim_id),
        Purpose.COMPLAINT_HANDLING,
    )
    at = now or utcnow()
    complaint.answer = answer
    complaint.answered_at = at
    close_duties(
        session,
        story.id,
        COMPLAINT_ANSWERED,
        at,
        by=f"{COMPLAINT_ANSWERED} by {complaint.organisation_code}",
        opened_by=f"complaint:{complaint.id}",
    )
    complaint_answered(session, story, complaint)
    session.flush()


# --- reading it ------------------------------------------------------------------------------


def story_by_reference(session: Session, reference: str) -> Story | None:
    """The story with this reference, or None (callers still authorise before showing it)."""
    return session.scalar(select(Story).where(Story.reference == reference.strip().upper()))


def own_story(
    session: Session, policies: PolicySet, user: UserAccount, reference: str
) -> tuple[Story, Actor]:
    """A victim's own story, after the rules agree that it is theirs to read."""
    victim = victim_for_account(session, user.id)
    story = story_by_reference(session, reference)
    actor = victim_actor(user, victim)
    if story is None or victim is None:
        raise not_found(f"story {reference!r}")
    require(session, policies, actor, Action.READ, story_record(story), Purpose.OWN_ACCESS)
    return story, actor


@dataclass
class StaffView:
    """What one member of staff may see of one story, the parts the rules refused left out."""

    story: Story
    purpose: str
    victim: Victim | None = None
    contact: ContactPreferences | None = None
    versions: list[StoryVersion] = field(default_factory=list)
    seen_version: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def changed_since_seen(self) -> list[str]:
        """The fields that changed in the versions this organisation has not opened yet."""
        names: list[str] = []
        for version in self.versions:
            if version.version > self.seen_version and version.version > 1:
                names += [n for n in version.changed if n not in names]
        return names


def recipients_for(session: Session, organisation_code: str | None) -> Sequence[StoryRecipient]:
    """The stories routed to an organisation, newest first."""
    if not organisation_code:
        return []
    return session.scalars(
        select(StoryRecipient)
        .join(Story)
        .where(StoryRecipient.organisation_code == organisation_code)
        .order_by(Story.submitted_at.desc(), Story.id.desc())
    ).all()


def staff_view(
    session: Session,
    policies: PolicySet,
    actor: Actor,
    recipient: StoryRecipient,
    *,
    kinds: Iterable[str] = (RecordKind.VICTIM_CONTACT, RecordKind.VICTIM, RecordKind.VICTIM_STORY),
    mark_seen: bool = False,
) -> StaffView:
    """Read each part of the story the rules allow for the recipient's purpose (each read is
    ledgered); raise ``NotAllowed`` when none is allowed any more (consent withdrawn)."""
    story = recipient.story
    view = StaffView(story=story, purpose=recipient.purpose, seen_version=recipient.seen_version)
    refs = {
        RecordKind.VICTIM: victim_record(story.victim_id),
        RecordKind.VICTIM_CONTACT: contact_record(story.victim_id),
        RecordKind.VICTIM_STORY: story_record(story),
    }
    last: NotAllowed | None = None
    askable = recipient_kinds(policies, actor, recipient)
    for kind in kinds:
        if kind not in askable:
            continue
        try:
            require(session, policies, actor, Action.READ, refs[RecordKind(kind)], view.purpose)
        except NotAllowed as refusal:
            last = refusal
            view.refused.append(kind)
            continue
        if kind == RecordKind.VICTIM:
            view.victim = story.victim
        elif kind == RecordKind.VICTIM_CONTACT:
            view.contact = session.get(ContactPreferences, story.victim_id)
        else:
            view.versions = list(story.versions)
    if view.victim is None and view.contact is None and not view.versions:
        raise last or not_found(f"story {story.reference!r}")
    if mark_seen:
        # Opened: even an organisation that may not read the account itself has now seen what
        # it may of this version (needs, contact), so it is no longer "new" to them.
        recipient.seen_version = story.current_version
    return view


def recipient_kinds(policies: PolicySet, actor: Actor, recipient: StoryRecipient) -> set[str]:
    """The parts of a story the actor's role may ask to read for the recipient's purpose (asking
    for parts no agreement covers would only fill the ledger with certain refusals)."""
    kinds = set()
    for kind in (RecordKind.VICTIM, RecordKind.VICTIM_CONTACT, RecordKind.VICTIM_STORY):
        if policies.lookup(actor.role, Action.READ, kind, recipient.purpose):
            kinds.add(str(kind))
    return kinds


def own_records(session: Session, victim: Victim) -> dict[str, Any]:
    """Everything Tell us once holds about a victim, as one JSON-ready document (the records;
    the ledger's part of a subject access export is added by the caller)."""
    prefs = session.get(ContactPreferences, victim.id)

    def when(value: date | datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "victim": {
            "id": victim.id,
            "name": victim.full_name,
            "dateOfBirth": when(victim.date_of_birth),
            "email": victim.email,
            "phone": victim.phone,
            "createdAt": when(victim.created_at),
        },
        "needsAndContact": None
        if prefs is None
        else {
            "language": prefs.language,
            "otherLanguage": prefs.other_language,
            "interpreter": prefs.interpreter,
            "accessibility": prefs.accessibility,
            "disability": prefs.disability,
            "circumstances": prefs.circumstances,
            "channels": prefs.channels,
            "safeTimes": prefs.safe_times,
            "doNotLeaveMessages": prefs.no_messages,
        },
        "stories": [
            {
                "reference": story.reference,
                "submittedAt": when(story.submitted_at),
                "caseUrn": story.case_urn,
                "enhancedRights": story.enhanced,
                "versions": [
                    {
                        "version": v.version,
                        "recordedAt": when(v.created_at),
                        "whatHappened": v.what_happened,
                        "happenedOn": when(v.happened_on),
                        "happenedWhere": v.happened_where,
                        "crimeReference": v.crime_reference,
                        "changed": v.changed,
                    }
                    for v in story.versions
                ],
                "sentTo": [
                    {"organisation": r.organisation_code, "purpose": r.purpose}
                    for r in story.recipients
                ],
                "personalStatements": [
                    {
                        "version": s.version,
                        "text": s.text,
                        "withdrawn": s.withdrawn,
                        "recordedAt": when(s.created_at),
                    }
                    for s in statements(session, story.id)
                ],
                "complaints": [
                    {
                        "reference": c.reference,
                        "organisation": c.organisation_code,
                        "text": c.text,
                        "receivedAt": when(c.received_at),
                        "answeredAt": when(c.answered_at),
                    }
                    for c in session.scalars(
                        select(Complaint).where(Complaint.story_id == story.id)
                    )
                ],
            }
            for story in victim.stories
        ],
    }
