"""The one timeline of a case, the Victims' Code clocks it starts, and the messages it sends.

Agencies' events arrive through the exchange (``exchange.intake``) in the common model. For
each case they name, ``on_event`` writes a plain-English timeline entry; for each story linked
to that case it opens the duties the Code's rules say the event starts (in working days, with
the enhanced limit when the victim is entitled), closes duties the event itself fulfils, and
queues a message to the victim by their chosen channel within their safe times. When that
message is delivered, ``on_delivered`` closes the "tell the victim" duties with the delivery
time: a duty is met by the act itself, never by someone ticking a box.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestory.domain.events import EventEnvelope
from onestory.notify.contact import ContactWindow
from onestory.notify.outbox import enqueue
from onestory.notify.tables import NotifyMessage
from onestory.sharing.tables import Organisation
from onestory.store.base import utcnow
from onestory.victims import duties
from onestory.victims.tables import (
    CaseEvent,
    Complaint,
    ContactPreferences,
    DutyClock,
    Story,
    Victim,
)

TOLD = "victim.told"
WITNESS_CARE_TOLD = "witness_care.told"
SUPPORT_REFERRED = "support.referred"
COMPLAINT_ANSWERED = "complaint.answered"

# The victim's safe times, as the contact page offers them (Europe/London local time).
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
SAFE_TIMES: dict[str, tuple[str, ContactWindow]] = {
    "weekday_morning": (
        "Weekday mornings, 9am to 12pm",
        ContactWindow(WEEKDAYS, time(9), time(12)),
    ),
    "weekday_afternoon": (
        "Weekday afternoons, 12pm to 5pm",
        ContactWindow(WEEKDAYS, time(12), time(17)),
    ),
    "weekday_evening": (
        "Weekday evenings, 5pm to 8pm",
        ContactWindow(WEEKDAYS, time(17), time(20)),
    ),
    "weekend": ("Weekends, 10am to 5pm", ContactWindow(WEEKEND, time(10), time(17))),
}

# Common-model event type -> the message template that tells the victim about it.
TEMPLATES: dict[str, str] = {
    "police.charge.decided": "charge-decided",
    "court.hearing.listed": "hearing-listed",
    "court.hearing.resulted": "hearing-outcome",
    "court.sentence.imposed": "sentence-passed",
    "probation.victim_contact.referred": "vcs-referral",
    "prison.prisoner.released": "offender-release",
}

DECISION_WORDS = {
    "charge": "The suspect was charged",
    "caution": "The suspect was given a caution",
    "community_resolution": "The suspect was given a community resolution",
    "no_further_action": "The police decided to take no further action",
}
SENTENCE_WORDS = {
    "immediate_custody": "a prison sentence",
    "suspended_sentence": "a suspended prison sentence",
    "community_order": "a community order",
    "fine": "a fine",
    "conditional_discharge": "a conditional discharge",
    "absolute_discharge": "an absolute discharge",
    "hospital_order": "a hospital order",
}
SENTENCE_MEANING = {
    "immediate_custody": "The offender goes to prison now. Most people serve part of the "
    "sentence in prison and the rest on licence in the community.",
    "suspended_sentence": "The offender does not go to prison now, but will if they break the "
    "conditions or offend again during the suspension.",
    "community_order": "The offender must do what the court ordered, such as unpaid work, "
    "supervised by the Probation Service.",
    "fine": "The offender must pay money to the court.",
    "conditional_discharge": "There is no punishment now, unless the offender commits another "
    "offence within the time the court set.",
    "absolute_discharge": "The offender was found guilty, but the court decided not to punish "
    "them.",
    "hospital_order": "The offender will be treated in a secure hospital.",
}
RELEASE_WORDS = {
    "licence": "released from prison on licence",
    "end_of_sentence": "released from prison at the end of their sentence",
    "bail": "released from prison on bail",
    "home_detention_curfew": "released from prison on home detention curfew (a tag)",
    "transfer": "moved to another prison",
}
HEARING_WORDS = {
    "first_appearance": "first hearing",
    "plea": "plea hearing",
    "trial": "trial",
    "sentence": "sentencing hearing",
    "bail": "bail hearing",
}


@cache
def _code_versions() -> tuple[duties.CodeRules, ...]:
    return tuple(duties.load_all_code_rules())


def check_rules() -> None:
    """Load the Code's rule files now, so a broken one stops start-up (not the first event)."""
    _code_versions()


@dataclass(frozen=True)
class Translation:
    """What an event means for a victim: its triggers, facts, headline and details."""

    triggers: tuple[str, ...]
    headline: str
    details: dict[str, Any]
    facts: dict[str, Any]
    # Acts the event itself is (see victims.duties.ACTS): it meets the duties they close.
    acts: tuple[str, ...] = ()


def _local(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(duties.LONDON)


def _day(moment: str) -> str:
    local = _local(moment)
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"


def _hour(moment: str) -> str:
    return _local(moment).strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")


def translate(
    event_type: str, payload: Mapping[str, Any], court_name: Callable[[str], str]
) -> Translation | None:
    """The victim's view of one common-model event; None for events a victim does not follow."""
    if event_type == "police.crime.recorded":
        return Translation((), "The police recorded the crime", {}, {})
    if event_type == "police.suspect.arrested":
        released = payload.get("releasedOn")
        triggers = ["suspect.arrested"]
        if released == "bail":
            triggers.append("suspect.bailed")
        headline = "A suspect was arrested"
        if released:
            headline += {
                "bail": " and released on bail",
                "under_investigation": " and released while the police investigate",
                "charged": " and charged",
                "no_further_action": " and released with no further action",
            }.get(str(released), "")
        return Translation(tuple(triggers), headline, {}, {})
    if event_type == "police.charge.decided":
        decision = payload["decision"]
        kind = str(decision["decision"])
        return Translation(
            ("charge.decided",),
            DECISION_WORDS.get(kind, "A charging decision was made"),
            {"decision": kind, "reason": decision.get("reason")},
            {},
        )
    if event_type == "cps.charges.altered":
        status = str(payload["prosecution"].get("status", ""))
        if status in {"discontinued", "no_evidence_offered"}:
            return Translation(
                ("case.discontinued",),
                "The prosecution was stopped",
                {"reason": payload.get("reason")},
                {},
            )
        return Translation(
            ("charge.altered",), "The charges were changed", {"reason": payload.get("reason")}, {}
        )
    if event_type == "cps.case.reviewed":
        return Translation((), "The Crown Prosecution Service reviewed the case", {}, {})
    if event_type == "court.hearing.listed":
        hearing = payload["hearing"]
        court = court_name(hearing["court"])
        what = HEARING_WORDS.get(str(hearing["hearingType"]), "hearing")
        day, hour = _day(hearing["startsAt"]), _hour(hearing["startsAt"])
        return Translation(
            ("hearing.listed",),
            f"A {what} was listed at {court} on {day} at {hour}",
            {"court": court, "date": day, "time": hour, "startsAt": hearing["startsAt"]},
            {},
        )
    if event_type == "court.hearing.resulted":
        outcome = payload["outcome"]
        verdicts = [o.get("verdict") for o in outcome.get("offences", []) if o.get("verdict")]
        triggers = ["hearing.outcome"]
        headline = "The hearing took place"
        if verdicts:
            triggers.append("case.outcome")
            words = ", ".join(sorted({str(v).replace("_", " ") for v in verdicts}))
            headline = f"The court reached a verdict: {words}"
        if outcome.get("remandedInCustody"):
            headline += ". The defendant was remanded in custody"
        return Translation(tuple(triggers), headline, {"verdicts": verdicts}, {})
    if event_type == "court.sentence.imposed":
        sentence = payload["sentence"]
        kind = str(sentence["sentenceType"])
        words = SENTENCE_WORDS.get(kind, "a sentence")
        months = sentence.get("custodyMonths")
        if months:
            words += f" of {months} months"
        facts: dict[str, Any] = {"hospital_order": kind == "hospital_order"}
        if months is not None:
            facts["custody_months"] = months
        return Translation(
            ("sentence.passed",),
            f"The court passed sentence: {words}",
            {"sentence": words, "meaning": SENTENCE_MEANING.get(kind, "")},
            facts,
        )
    if event_type == "probation.victim_contact.referred":
        return Translation(
            ("vcs.referral",),
            "You were referred to the Victim Contact Scheme: a victim liaison officer will "
            "contact you",
            {},
            {},
            acts=("vcs.referred",),
        )
    if event_type == "prison.prisoner.released":
        how = RELEASE_WORDS.get(str(payload.get("releaseType")), "released")
        return Translation((), f"The offender was {how}", {"event": f"the offender was {how}"}, {})
    return None


def _organisation_name(session: Session) -> Callable[[str], str]:
    """A lookup of one organisation's name by code (the code itself if unknown), asked only
    when an event names one -- not a load of every court for every event."""

    def name(code: str) -> str:
        found = session.scalar(select(Organisation.name).where(Organisation.code == code))
        return found or code

    return name


def on_event(session: Session, event: EventEnvelope[Any]) -> None:
    """Exchange subscriber: put the event on the timeline of every story of its case."""
    envelope = event.model_dump(mode="json", by_alias=True)
    if event.event_type == "witness_care.victim.informed":
        _informed(session, event, envelope["payload"])
        return
    urns = [str(ref.value) for ref in event.case_references if ref.type == "URN"]
    if not urns:
        return
    translation = translate(event.event_type, envelope["payload"], _organisation_name(session))
    if translation is None:
        return
    now = utcnow()
    for urn in urns:
        case_event = CaseEvent(
            source_key=f"event:{event.id}:{urn}",
            event_type=event.event_type,
            triggers=list(translation.triggers),
            occurred_at=event.occurred_at,
            recorded_at=now,
            organisation_code=event.asserted_by,
            case_urn=urn,
            headline=translation.headline,
            details=translation.details,
            facts=translation.facts,
        )
        session.add(case_event)
        session.flush()
        stories = session.scalars(select(Story).where(Story.case_urn == urn)).all()
        for story in stories:
            for act in translation.acts:
                close_duties(
                    session,
                    story.id,
                    act,
                    event.occurred_at,
                    by=f"{act} by {event.asserted_by}",
                    opened_by=None,
                )
            open_duties(session, story, case_event)
            notify_victim(session, story, case_event)


def _informed(session: Session, event: EventEnvelope[Any], payload: Mapping[str, Any]) -> None:
    """A Witness Care Unit or the police told the victim themselves (by phone, say).

    Only the organisation that owes a duty can say it was met, and only a "tell the victim"
    duty, opened by the very event named (an exact id, never a pattern).
    """
    try:
        about = str(uuid.UUID(str(payload.get("aboutEventId"))))
    except ValueError:
        return
    informed_at = datetime.fromisoformat(payload["informedAt"])
    prefix = f"event:{about}:"
    case_events = select(CaseEvent.id).where(
        CaseEvent.source_key.startswith(prefix, autoescape=True)
    )
    for clock in session.scalars(
        select(DutyClock).where(
            DutyClock.case_event_id.in_(case_events),
            DutyClock.rule_id == payload["duty"],
            DutyClock.owner_code == event.asserted_by,
            DutyClock.met_at.is_(None),
        )
    ):
        if TOLD in clock.closed_by:
            clock.met_at = informed_at
            clock.met_by = f"{TOLD} by {event.asserted_by} ({payload.get('channel')})"


def _owner_code(session: Session, story: Story, owner_kind: str, asserted_by: str) -> str | None:
    asserting_kind = session.scalar(
        select(Organisation.kind).where(Organisation.code == asserted_by)
    )
    if owner_kind == asserting_kind:
        return asserted_by
    return session.scalar(
        select(Organisation.code)
        .where(Organisation.kind == owner_kind, Organisation.police_area == story.police_area)
        .order_by(Organisation.code)
        .limit(1)
    )


def open_duties(
    session: Session,
    story: Story,
    case_event: CaseEvent | None,
    *,
    trigger: str | None = None,
    started_at: datetime | None = None,
    opened_by: str | None = None,
    owner: str | None = None,
) -> list[DutyClock]:
    """Open the clocks this event starts on this story; close those the event itself meets.

    A duty owed by the organisation that sent the event runs from when the thing happened; a
    duty owed by another organisation runs from when it was told, which through OneStory is
    when the event arrived (its ``recorded_at``).
    """
    triggers = [trigger] if trigger else list(case_event.triggers if case_event else [])
    occurred = started_at or (case_event.occurred_at if case_event else utcnow())
    rules = duties.rules_in_force(occurred.astimezone(duties.LONDON).date(), _code_versions())
    facts = case_event.facts if case_event else {}
    asserted_by = case_event.organisation_code if case_event else ""
    opened: list[DutyClock] = []
    for name in triggers:
        for rule in rules.started_by(name, facts):
            days = duties.days_for(rule, enhanced=story.enhanced)
            if days is None:
                continue  # "as agreed with the victim": no fixed clock
            owner_code = owner or _owner_code(session, story, rule.owner, asserted_by)
            own_event = case_event is not None and owner_code == asserted_by
            start = occurred if own_event or case_event is None else case_event.recorded_at
            key = opened_by or f"case-event:{case_event.id if case_event else 0}"
            exists = session.scalar(
                select(DutyClock.id).where(
                    DutyClock.story_id == story.id,
                    DutyClock.rule_id == rule.id,
                    DutyClock.opened_by == key,
                )
            )
            if exists is not None:
                continue
            clock = DutyClock(
                story_id=story.id,
                rule_id=rule.id,
                code_version=rules.version,
                owner_kind=rule.owner,
                owner_code=owner_code,
                opened_by=key,
                case_event_id=case_event.id if case_event else None,
                enhanced=story.enhanced,
                started_at=start,
                due_at=duties.due_at(start, days),
                closed_by=list(rule.closed_by),
            )
            if case_event is not None and WITNESS_CARE_TOLD in rule.closed_by:
                # Through OneStory the Witness Care Unit is told the moment the court records it.
                clock.met_at = case_event.recorded_at
                clock.met_by = f"{WITNESS_CARE_TOLD} through OneStory"
            session.add(clock)
            opened.append(clock)
    session.flush()
    return opened


def close_duties(
    session: Session, story_id: int, act: str, at: datetime, *, by: str, opened_by: str | None
) -> int:
    """Mark met the open duties on a story that ``act`` fulfils; returns how many."""
    query = select(DutyClock).where(DutyClock.story_id == story_id, DutyClock.met_at.is_(None))
    if opened_by is not None:
        query = query.where(DutyClock.opened_by == opened_by)
    count = 0
    for clock in session.scalars(query):
        if act in clock.closed_by:
            clock.met_at = at
            clock.met_by = by
            count += 1
    return count


def open_story_duties(session: Session, story: Story, *, support_referred: bool | None) -> None:
    """The duty a report starts (R4.1, refer to support): met at once when the victim agreed
    to a support service, since the story reaches it on submission; closed as declined when
    they said no (the Code lets victims opt out); left to the police otherwise."""
    for clock in open_duties(
        session,
        story,
        None,
        trigger="crime.reported",
        started_at=story.submitted_at,
        opened_by=f"story:{story.id}",
    ):
        if SUPPORT_REFERRED not in clock.closed_by or support_referred is None:
            continue
        clock.met_at = story.submitted_at
        clock.met_by = (
            f"{SUPPORT_REFERRED} when the victim told their story"
            if support_referred
            else "the victim declined a referral to support services"
        )


def open_complaint_duty(session: Session, story: Story, complaint_id: int, owner: str) -> None:
    """A complaint starts the reply clock (R12.1), owed by the organisation complained about,
    and the victim is told when to expect the reply."""
    clocks = open_duties(
        session,
        story,
        None,
        trigger="complaint.received",
        started_at=utcnow(),
        opened_by=f"complaint:{complaint_id}",
        owner=owner,
    )
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not clocks:
        return
    due = clocks[0].due_at.astimezone(duties.LONDON)
    message_victim(
        session,
        story,
        "complaint-received",
        {
            "reference": complaint.reference,
            "reply_due": f"{due.strftime('%A')} {due.day} {due.strftime('%B %Y')}",
        },
        f"complaint:{complaint_id}:received",
    )


def complaint_answered(session: Session, story: Story, complaint: Complaint) -> None:
    """Tell the victim their complaint has a reply (the reply itself is read after signing in)."""
    name = session.scalar(
        select(Organisation.name).where(Organisation.code == complaint.organisation_code)
    )
    message_victim(
        session,
        story,
        "timeline-update",
        {"headline": f"{name or 'An organisation'} has replied to your complaint."},
        f"complaint:{complaint.id}:answered",
    )


def story_received(session: Session, story: Story) -> NotifyMessage | None:
    """Queue the confirmation with the story's reference number."""
    return message_victim(
        session,
        story,
        "story-received",
        {"reference": story.reference},
        f"story:{story.id}:received",
    )


def message_victim(
    session: Session,
    story: Story,
    template: str,
    personalisation: dict[str, object],
    key: str,
    *,
    now: datetime | None = None,
) -> NotifyMessage | None:
    """Queue a message to the story's victim by the channel they chose, in their language and
    within their safe times, once per ``key`` (also the message's reference, which a delivery
    hook reads); None when they chose only phone or letter (staff then tell them)."""
    victim = session.get(Victim, story.victim_id)
    prefs = session.get(ContactPreferences, story.victim_id)
    route = victim_channel(victim, prefs) if victim else None
    if victim is None or route is None:
        return None
    return enqueue(
        session,
        recipient_subject_id=victim.id,
        channel=route[0],
        address=route[1],
        template=template,
        language="cy" if prefs and prefs.language == "cy" else "en",
        personalisation=personalisation,
        idempotency_key=key,
        reference=key,
        windows=windows_for(prefs),
        now=now,
    )


def victim_channel(victim: Victim, prefs: ContactPreferences | None) -> tuple[str, str] | None:
    """(channel, address) to message the victim by, in their order of choice; None if they
    chose only phone or letter (staff then tell them and record it)."""
    chosen = prefs.channels if prefs else []
    if "email" in chosen and victim.email:
        return "email", victim.email
    if "text" in chosen and victim.phone:
        return "sms", victim.phone
    return None


def windows_for(prefs: ContactPreferences | None) -> list[ContactWindow]:
    """The victim's safe times as contact windows (none chosen: any time)."""
    if prefs is None:
        return []
    return [SAFE_TIMES[code][1] for code in prefs.safe_times if code in SAFE_TIMES]


def notify_victim(session: Session, story: Story, case_event: CaseEvent) -> NotifyMessage | None:
    """Queue the message that tells the victim about ``case_event`` (once, whatever retries)."""
    details = case_event.details
    personalisation: dict[str, object] = {
        "reference": story.reference,
        "headline": case_event.headline,
        "court": details.get("court", ""),
        "date": details.get("date", ""),
        "time": details.get("time", ""),
        "decision": case_event.headline,
        "sentence": details.get("sentence", ""),
        "sentence_meaning": details.get("meaning", ""),
        "event": details.get("event", case_event.headline),
    }
    return message_victim(
        session,
        story,
        TEMPLATES.get(case_event.event_type, "timeline-update"),
        personalisation,
        f"case-event:{case_event.id}:story:{story.id}",
        now=case_event.recorded_at,
    )


def on_delivered(session: Session, message: NotifyMessage) -> None:
    """Notify delivery hook: a delivered message about an event meets the "tell the victim"
    duties that event opened, at the delivery time."""
    reference = message.reference or ""
    parts = reference.split(":")
    if len(parts) != 4 or parts[0] != "case-event" or parts[2] != "story":
        return
    at = message.delivered_at or utcnow()
    close_duties(
        session,
        int(parts[3]),
        TOLD,
        at,
        by=f"{TOLD} by {message.channel} (message {message.id} delivered)",
        opened_by=f"case-event:{parts[1]}",
    )


# --- reading it ------------------------------------------------------------------------------


def timeline(session: Session, story: Story) -> list[CaseEvent]:
    """Everything that happened in the story's case, oldest first."""
    keys = [CaseEvent.story_reference == story.reference]
    if story.case_urn:
        keys.append(CaseEvent.case_urn == story.case_urn)
    return list(
        session.scalars(
            select(CaseEvent).where(or_(*keys)).order_by(CaseEvent.occurred_at, CaseEvent.id)
        )
    )


def story_duties(session: Session, story_id: int) -> Sequence[DutyClock]:
    """The duties owed on a story, in the order they fall due."""
    return session.scalars(
        select(DutyClock).where(DutyClock.story_id == story_id).order_by(DutyClock.due_at)
    ).all()


def duty_status(clock: DutyClock, now: datetime | None = None) -> duties.DutyStatus:
    """Pending, met on time, met late or overdue, as of ``now``."""
    return duties.status(due=clock.due_at, met_at=clock.met_at, now=now or utcnow())


def due_for(session: Session, organisation_code: str) -> list[DutyClock]:
    """An organisation's open duties, soonest due first (so the overdue ones lead)."""
    return list(
        session.scalars(
            select(DutyClock)
            .where(DutyClock.owner_code == organisation_code, DutyClock.met_at.is_(None))
            .order_by(DutyClock.due_at)
        )
    )


def rule_title(rule_id: str, code_version: str) -> str:
    """The duty's plain-English title from the Code version it was opened under."""
    for rules in _code_versions():
        if rules.version == code_version and rule_id in rules.by_id:
            return rules.by_id[rule_id].title
    return rule_id
