"""Tell us once, the agencies' side: the stories routed to an organisation, and what it did.

Each read of a victim's data goes through ``stories.staff_view`` or ``access.require``, which
ledger the decision; pages commit after reading so those entries are kept. A refusal is "Page
not found", never "Forbidden", so nobody learns that a record exists. What staff record (a
charge, a hearing, "I told the victim") becomes a common-model event passed to
``exchange.intake.receive_event``: the same path an agency system's event takes, so it reaches
the victim's timeline and the Victims' Code clocks the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.domain.cases import ChargeDecisionKind
from onestory.domain.identifiers import CaseURN, IdentifierError
from onestory.exchange.intake import IntakeError
from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.sharing.authorize import Actor, RecordRef
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Action, Purpose, RecordKind, Role
from onestory.store.base import utcnow
from onestory.victims import timeline
from onestory.victims.access import (
    NotAllowed,
    case_record,
    contact_record,
    may,
    staff_actor,
    story_record,
)
from onestory.victims.duties import LONDON
from onestory.victims.routing import NOT_ROUTED
from onestory.victims.staff_forms import (
    DONE_KEY,
    case_event_envelope,
    date_from,
    day_words,
    due_words,
    form_errors,
    org_of,
    policies_of,
    redirect_done,
    require_or_404,
    send,
)
from onestory.victims.stories import (
    ENHANCED_CIRCUMSTANCES,
    FIELD_WORDS,
    StaffView,
    recipient_kinds,
    recipients_for,
    staff_view,
)
from onestory.victims.tables import (
    CaseEvent,
    ContactPreferences,
    DutyClock,
    Story,
    StoryRecipient,
)
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

VICTIM_KINDS = (RecordKind.VICTIM_CONTACT, RecordKind.VICTIM, RecordKind.VICTIM_STORY)

STATUS_TAGS: dict[str, tuple[str, str]] = {
    "pending": ("Pending", "govuk-tag--blue"),
    "met_on_time": ("Met on time", "govuk-tag--green"),
    "met_late": ("Met late", "govuk-tag--orange"),
    "overdue": ("Overdue", "govuk-tag--red"),
}
LANGUAGE_WORDS = {"en": "English", "cy": "Welsh"}
CHANNEL_WORDS = {
    "email": "Email",
    "text": "Text message",
    "sms": "Text message",
    "phone": "Phone call",
    "letter": "Letter",
    "post": "Letter",
}
PART_WORDS = {
    RecordKind.VICTIM: "who the victim is (name and contact details)",
    RecordKind.VICTIM_CONTACT: "their needs and when it is safe to contact them",
    RecordKind.VICTIM_STORY: "what happened, in the victim's words",
}
TOLD_CHANNELS = {"phone": "Phone", "in_person": "In person", "letter": "Letter"}
DECISION_CHOICES = {
    ChargeDecisionKind.CHARGE: "Charge",
    ChargeDecisionKind.CAUTION: "Caution",
    ChargeDecisionKind.COMMUNITY_RESOLUTION: "Community resolution",
    ChargeDecisionKind.NO_FURTHER_ACTION: "No further action",
}


# --- words for people --------------------------------------------------------------------------


def needs_rows(contact: ContactPreferences) -> list[tuple[str, str]]:
    """The victim's needs and safe-contact instructions, as (question, answer) in plain words."""
    language = LANGUAGE_WORDS.get(contact.language) or contact.other_language or "Not given"
    if contact.interpreter:
        language += " (needs an interpreter)"
    circumstances = [
        ENHANCED_CIRCUMSTANCES[c] for c in contact.circumstances if c in (ENHANCED_CIRCUMSTANCES)
    ]
    channels = [CHANNEL_WORDS.get(c, c.replace("_", " ").capitalize()) for c in contact.channels]
    times = [timeline.SAFE_TIMES[t][0] for t in contact.safe_times if t in timeline.SAFE_TIMES]
    rows = [("Language", language)]
    if contact.accessibility:
        rows.append(("Accessibility needs", contact.accessibility))
    if contact.disability:
        rows.append(("Disability", contact.disability))
    if circumstances:
        rows.append(("Enhanced rights (as the victim answered)", "; ".join(circumstances)))
    rows.append(("Contact by", ", ".join(channels) if channels else "No preference given"))
    rows.append(("Safe times to contact", "; ".join(times) if times else "Any time"))
    rows.append(
        (
            "Messages",
            "Do not leave messages" if contact.no_messages else "Messages may be left",
        )
    )
    return rows


# --- reading ---------------------------------------------------------------------------------


def _reads_victims(policies: PolicySet, role: str) -> bool:
    """Whether any agreement lets this role read any part of a victim's story."""
    return any(
        policies.lookup(role, Action.READ, kind, purpose)
        for kind in VICTIM_KINDS
        for purpose in Purpose
        if purpose not in NOT_ROUTED
    )


def _recipient(session: Session, org: str | None, reference: str) -> StoryRecipient:
    """The organisation's row for the story, or the same 404 as for a story that is not there."""
    row = None
    if org:
        row = session.scalars(
            select(StoryRecipient)
            .join(Story)
            .where(
                Story.reference == reference.strip().upper(),
                StoryRecipient.organisation_code == org,
            )
            .order_by(StoryRecipient.id)
        ).first()
    if row is None:
        raise HTTPException(status_code=404)
    return row


@dataclass(frozen=True)
class Row:
    """One story on a worklist."""

    view: StaffView
    tags: list[tuple[str, str]]


def _tags(recipient: StoryRecipient) -> list[tuple[str, str]]:
    story = recipient.story
    tags = []
    if recipient.seen_version == 0:
        tags.append(("New", "govuk-tag--blue"))
    elif story.current_version > recipient.seen_version:
        tags.append(("Updated", "govuk-tag--yellow"))
    if story.enhanced:
        tags.append(("Enhanced rights", "govuk-tag--purple"))
    return tags


@router.get("/worklist", response_class=HTMLResponse)
def worklist(request: Request, session: SessionDep, user: SignedInUser) -> HTMLResponse:
    policies = policies_of(request)
    actor = staff_actor(user)
    org = actor.organisation_code
    if not org or not _reads_victims(policies, user.role):
        return render(
            request,
            "victims/agency/nothing.html",
            {"court": user.role == Role.COURT_OFFICER and org is not None},
        )
    rows: list[Row] = []
    for recipient in recipients_for(session, org):
        if not recipient_kinds(policies, actor, recipient):
            continue
        try:
            # Who and how to contact them only: the list never reads the account itself.
            view = staff_view(
                session,
                policies,
                actor,
                recipient,
                kinds=(RecordKind.VICTIM_CONTACT, RecordKind.VICTIM),
            )
        except NotAllowed:
            continue  # consent withdrawn: the story is not theirs to see any more
        rows.append(Row(view, _tags(recipient)))
    duties = [_duty(session, clock) for clock in timeline.due_for(session, org)]
    session.commit()
    return render(
        request,
        "victims/agency/worklist.html",
        {
            "stories": rows,
            "duties": duties,
            "needs_rows": needs_rows,
            "organisation": user.organisation,
        },
    )


@dataclass(frozen=True)
class DutyLine:
    """A duty as a page shows it."""

    clock: DutyClock
    reference: str
    href: str
    title: str
    due: str
    status: str
    status_text: str
    status_class: str
    due_today: bool


def _duty(session: Session, clock: DutyClock, now: datetime | None = None) -> DutyLine:
    now = now or utcnow()
    story = session.get(Story, clock.story_id)
    status = str(timeline.duty_status(clock, now))
    text, css = STATUS_TAGS.get(status, (status, "govuk-tag--grey"))
    reference = story.reference if story else ""
    # A complaint's reply is given on the complaint, which the organisation complained about
    # may read even when the story itself was never sent to it.
    href = "/complaints" if clock.opened_by.startswith("complaint:") else f"/worklist/{reference}"
    return DutyLine(
        clock=clock,
        reference=reference,
        href=href,
        title=timeline.rule_title(clock.rule_id, clock.code_version),
        due=due_words(clock.due_at),
        status=status,
        status_text=text,
        status_class=css,
        due_today=clock.met_at is None
        and clock.due_at.astimezone(LONDON).date() == now.astimezone(LONDON).date(),
    )


def _story_page(
    request: Request,
    session: Session,
    user: UserAccount,
    reference: str,
    *,
    errors: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    policies = policies_of(request)
    actor = staff_actor(user)
    recipient = _recipient(session, actor.organisation_code, reference)
    try:
        view = staff_view(session, policies, actor, recipient, mark_seen=True)
    except NotAllowed:
        session.commit()  # the refusal is ledgered too
        raise HTTPException(status_code=404) from None
    story = view.story
    shareable = recipient_kinds(policies, actor, recipient)
    not_shared = [PART_WORDS[k] for k in VICTIM_KINDS if k not in shareable]
    withdrawn = [PART_WORDS[RecordKind(k)] for k in view.refused]
    entries: list[CaseEvent] | None = None
    duty_lines: list[DutyLine] = []
    if may(session, policies, actor, Action.READ, case_record(story), view.purpose):
        entries = timeline.timeline(session, story)
        duty_lines = [_duty(session, clock) for clock in timeline.story_duties(session, story.id)]
    changed = [FIELD_WORDS.get(name, name) for name in view.changed_since_seen]
    session.commit()
    done = request.session.pop(DONE_KEY, None)
    return render(
        request,
        "victims/agency/story.html",
        {
            "view": view,
            "story": story,
            "needs": needs_rows(view.contact) if view.contact else None,
            "latest": view.versions[-1] if view.versions else None,
            "earlier": list(reversed(view.versions[:-1])),
            "changed": changed,
            "not_shared": not_shared,
            "withdrawn": withdrawn,
            "entries": entries,
            "duties": duty_lines,
            "can_tell": [d for d in duty_lines if _tellable(d.clock, actor)],
            "role": user.role,
            "done": done,
            "errors": errors,
            "values": values or {},
            "day_words": day_words,
            "decisions": DECISION_CHOICES,
            "told_channels_items": [{"value": k, "text": v} for k, v in TOLD_CHANNELS.items()],
        },
        status_code=400 if errors else 200,
    )


@router.get("/worklist/{reference}", response_class=HTMLResponse)
def story_page(
    request: Request, reference: str, session: SessionDep, user: SignedInUser
) -> HTMLResponse:
    return _story_page(request, session, user, reference)


# --- recording what the agency did -------------------------------------------------------------


def _police(session: Session, user: UserAccount, reference: str) -> Story:
    """The story, for a police officer whose force it was routed to (else 404)."""
    if user.role != Role.POLICE_OFFICER:
        raise HTTPException(status_code=404)
    return _recipient(session, org_of(user), reference).story


@router.post("/worklist/{reference}/case", response_model=None)
def link_case(
    request: Request,
    reference: str,
    session: SessionDep,
    user: SignedInUser,
    urn: Annotated[str, Form()] = "",
    crime_reference: Annotated[str, Form()] = "",
) -> Response:
    story = _police(session, user, reference)
    actor = staff_actor(user)
    try:
        canonical = str(CaseURN(urn))
    except IdentifierError as exc:
        values = {"urn": urn, "crime_reference": crime_reference}
        return _story_page(
            request, session, user, reference, errors=form_errors("urn", str(exc)), values=values
        )
    require_or_404(
        request, session, actor, Action.UPDATE, story_record(story), Purpose.INVESTIGATION
    )
    story.case_urn = canonical
    if crime_reference.strip():
        story.crime_reference = crime_reference.strip()[:40]
    append(
        session,
        entry_type="victims.story.case_linked",
        actor=actor.user_or_client_id,
        actor_org=actor.organisation_code,
        purpose=Purpose.INVESTIGATION,
        subjects=[Subject(RecordKind.VICTIM_STORY, story.reference)],
        payload={"story": story.reference, "caseUrn": canonical},
    )
    session.commit()
    return redirect_done(
        request, f"Linked to police case {canonical}", f"/worklist/{story.reference}"
    )


@router.post("/worklist/{reference}/charge", response_model=None)
def record_charge(
    request: Request,
    reference: str,
    session: SessionDep,
    user: SignedInUser,
    decision: Annotated[str, Form()] = "",
    day: Annotated[str, Form(alias="decided-day")] = "",
    month: Annotated[str, Form(alias="decided-month")] = "",
    year: Annotated[str, Form(alias="decided-year")] = "",
) -> Response:
    story = _police(session, user, reference)
    values = {"decision": decision, "day": day, "month": month, "year": year}
    org = org_of(user) or ""
    decided = date_from(day, month, year)
    errors = None
    if not story.case_urn:
        errors = form_errors(
            "urn", "Link the story to a police case (its URN) before recording a decision"
        )
    elif decision not in DECISION_CHOICES:
        errors = form_errors("decision", "Select the charging decision")
    elif decided is None:
        errors = form_errors("decided-day", "Enter the date of the decision, for example 27 3 2026")
    elif decided > utcnow().astimezone(LONDON).date():
        errors = form_errors("decided-day", "The date of the decision must be today or in the past")
    if errors or decided is None or story.case_urn is None:
        return _story_page(request, session, user, reference, errors=errors, values=values)
    event_id = str(uuid.uuid4())
    require_or_404(
        request,
        session,
        staff_actor(user),
        Action.CREATE,
        RecordRef(RecordKind.CASE, event_id),
        Purpose.INVESTIGATION,
    )
    decided_at = datetime.combine(decided, time(12), tzinfo=LONDON)
    payload = {
        "decision": {
            "urn": story.case_urn,
            "decision": decision,
            "decidedBy": org,
            "decidedAt": min(decided_at, utcnow()).isoformat(),
        }
    }
    envelope = case_event_envelope("police.charge.decided", org, story.case_urn, payload, event_id)
    try:
        send(session, user, envelope)
    except IntakeError as exc:
        session.rollback()
        return _story_page(
            request,
            session,
            user,
            reference,
            errors=form_errors("decision", str(exc)),
            values=values,
        )
    session.commit()
    words = timeline.DECISION_WORDS[decision]
    return redirect_done(
        request, f"Charging decision recorded: {words}", f"/worklist/{story.reference}"
    )


def _tellable(clock: DutyClock, actor: Actor) -> bool:
    """An open duty of the actor's organisation that telling the victim meets."""
    return (
        actor.role == Role.WITNESS_CARE_OFFICER
        and clock.owner_code == actor.organisation_code
        and clock.met_at is None
        and clock.case_event_id is not None
        and timeline.TOLD in clock.closed_by
    )


@router.post("/worklist/{reference}/duties/{duty_id}/told", response_model=None)
def victim_told(
    request: Request,
    reference: str,
    duty_id: int,
    session: SessionDep,
    user: SignedInUser,
    channel: Annotated[str, Form()] = "",
) -> Response:
    actor = staff_actor(user)
    recipient = _recipient(session, actor.organisation_code, reference)
    story = recipient.story
    clock = session.get(DutyClock, duty_id)
    if clock is None or clock.story_id != story.id or not _tellable(clock, actor):
        raise HTTPException(status_code=404)
    case_event = session.get(CaseEvent, clock.case_event_id)
    if case_event is None:
        raise HTTPException(status_code=404)
    if channel not in TOLD_CHANNELS:
        return _story_page(
            request,
            session,
            user,
            reference,
            errors=form_errors(f"channel-{duty_id}", "Select how you told the victim"),
        )
    require_or_404(
        request,
        session,
        actor,
        Action.UPDATE,
        contact_record(story.victim_id),
        Purpose.WITNESS_CARE,
    )
    # source_key is "event:<event id>:<urn>": the event the victim was told about.
    about = case_event.source_key.split(":")[1]
    org = actor.organisation_code or ""
    payload = {
        "duty": clock.rule_id,
        "aboutEventId": about,
        "channel": channel,
        "informedAt": utcnow().isoformat(),
    }
    envelope = case_event_envelope(
        "witness_care.victim.informed",
        org,
        case_event.case_urn or "",
        payload,
        str(uuid.uuid4()),
    )
    if not case_event.case_urn:
        envelope["caseReferences"] = []
    try:
        send(session, user, envelope)
    except IntakeError as exc:
        session.rollback()
        return _story_page(
            request, session, user, reference, errors=form_errors(f"channel-{duty_id}", str(exc))
        )
    session.commit()
    title = timeline.rule_title(clock.rule_id, clock.code_version)
    return redirect_done(
        request,
        f"Recorded that you told the victim ({TOLD_CHANNELS[channel].lower()}): {title}",
        f"/worklist/{story.reference}",
    )
