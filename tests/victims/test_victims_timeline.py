"""From an agency's event to a met duty: timeline entry, clock in working days (standard and
enhanced), a message in the victim's safe time, delivery, and the duty met by the delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from victims_helpers import add_account, add_organisations, fill_draft, full_answers

from onestory.exchange.intake import IntakeError, receive_event, subscribe
from onestory.notify.channels import FileChannel
from onestory.notify.tables import NotifyMessage
from onestory.notify.worker import deliver_due, register_delivery_hook
from onestory.sharing.policy import PolicySet, load_policies
from onestory.store import session_factory
from onestory.victims import timeline
from onestory.victims.duties import LONDON, DutyStatus
from onestory.victims.stories import submit_story
from onestory.victims.tables import CaseEvent, DutyClock, Story

POLICIES = Path(__file__).resolve().parents[2] / "policies"
URN = "01AB1234526"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


@pytest.fixture(autouse=True)
def _wired() -> None:
    subscribe(timeline.on_event)
    register_delivery_hook(timeline.on_delivered)


def _story(session: Session, policies: PolicySet, *, enhanced: bool, safe: list[str]) -> Story:
    add_organisations(session)
    user = add_account(session, "jo@example.org", "victim")
    answers = full_answers()
    answers["circumstances"] = {"circumstances": ["domestic_abuse"] if enhanced else ["none"]}
    answers["safe-times"] = {"safe_times": safe, "no_messages": False}
    story = submit_story(
        session, policies, user=user, draft_token=fill_draft(session, user.id, answers)
    ).story
    story.case_urn = URN
    session.commit()
    return story


def _event(event_type: str, org: str, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "eventType": event_type,
        "version": 1,
        "occurredAt": at.isoformat(),
        "assertedBy": org,
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": payload,
    }


def _listed(at: datetime) -> dict[str, Any]:
    hearing = {
        "hearingId": "H1",
        "caseUrn": URN,
        "court": "STRAMC",
        "hearingType": "trial",
        "startsAt": datetime(2026, 3, 2, 10, tzinfo=LONDON).isoformat(),
    }
    return _event(
        "court.hearing.listed",
        "STRAMC",
        {"hearing": hearing, "defendantId": str(uuid.uuid4())},
        at,
    )


def _receive(session: Session, event: dict[str, Any], org: str) -> None:
    receive_event(session, event, actor_id="client:test", actor_org=org)
    session.commit()


@pytest.fixture
def arrive_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make events arrive at a chosen time (a WCU's clock starts when the event arrives)."""

    def set_time(at: datetime) -> None:
        monkeypatch.setattr(timeline, "utcnow", lambda: at)

    return set_time


def test_hearing_listed_on_a_friday_is_due_by_the_end_of_monday(
    session: Session, policies: PolicySet, arrive_at: Any
) -> None:
    story = _story(session, policies, enhanced=False, safe=[])
    friday = datetime(2026, 2, 20, 15, tzinfo=UTC)
    arrive_at(friday)
    _receive(session, _listed(friday), "STRAMC")
    entry = session.scalars(select(CaseEvent)).one()
    assert entry.headline.startswith("A trial was listed at Stratford Magistrates' Court on")
    assert timeline.timeline(session, story) == [entry]
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R8.2")).one()
    assert clock.owner_code == "WCU01"
    # One working day after Friday 20 February 2026 is Monday 23 February, to its last second.
    assert clock.due_at.astimezone(LONDON).date().isoformat() == "2026-02-23"
    assert clock.due_at.astimezone(LONDON).hour == 23


def test_enhanced_victims_get_the_shorter_limit_across_easter(
    session: Session, policies: PolicySet
) -> None:
    _story(session, policies, enhanced=True, safe=[])
    # Maundy Thursday 2 April 2026: Good Friday and Easter Monday are bank holidays.
    thursday = datetime(2026, 4, 2, 11, tzinfo=UTC)
    charged = _event(
        "police.charge.decided",
        "POL01",
        {
            "decision": {
                "urn": URN,
                "decision": "charge",
                "decidedBy": "POL01",
                "decidedAt": thursday.isoformat(),
            }
        },
        thursday,
    )
    _receive(session, charged, "POL01")
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R6.3")).one()
    assert clock.enhanced is True
    # Enhanced: 1 working day (standard would be 5) -> Tuesday 7 April, after Easter Monday.
    assert clock.due_at.astimezone(LONDON).date().isoformat() == "2026-04-07"


def test_delivery_in_the_safe_time_meets_the_duty_on_time(
    engine: Any, session: Session, policies: PolicySet, tmp_path: Path, arrive_at: Any
) -> None:
    story = _story(session, policies, enhanced=False, safe=["weekday_morning"])
    friday_evening = datetime(2026, 2, 20, 19, tzinfo=UTC)
    arrive_at(friday_evening)
    _receive(session, _listed(friday_evening), "STRAMC")
    message = session.scalars(
        select(NotifyMessage).where(NotifyMessage.template == "hearing-listed")
    ).one()
    # Safe times are weekday mornings: the message waits for Monday 9am.
    assert message.not_before.astimezone(LONDON) == datetime(2026, 2, 23, 9, tzinfo=LONDON)
    sessions: sessionmaker[Session] = session_factory(engine)
    channel = FileChannel(tmp_path / "outbox")
    saturday = datetime(2026, 2, 21, 10, tzinfo=UTC)
    deliver_due(sessions, channel, now=saturday)
    session.expire_all()
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R8.2")).one()
    assert clock.met_at is None  # nothing sent outside the safe time
    monday = datetime(2026, 2, 23, 9, 30, tzinfo=UTC)
    deliver_due(sessions, channel, now=monday)
    session.expire_all()
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R8.2")).one()
    assert clock.met_at is not None
    assert timeline.duty_status(clock, now=monday) is DutyStatus.MET_ON_TIME
    sent = (tmp_path / "outbox" / f"{message.id}.json").read_text()
    assert "Monday 2 March 2026 at 10am, at Stratford Magistrates' Court" in sent
    assert story.victim.email in sent


def test_only_the_owner_can_say_the_victim_was_told(session: Session, policies: PolicySet) -> None:
    _story(session, policies, enhanced=False, safe=[])
    listed = _listed(datetime(2026, 2, 20, 15, tzinfo=UTC))
    _receive(session, listed, "STRAMC")

    def informed(org: str, about: str) -> dict[str, Any]:
        payload = {
            "duty": "R8.2",
            "aboutEventId": about,
            "channel": "phone",
            "informedAt": datetime(2026, 2, 20, 16, tzinfo=UTC).isoformat(),
        }
        return _event("witness_care.victim.informed", org, payload, datetime.now(UTC))

    _receive(session, informed("POL01", listed["id"]), "POL01")  # not the owner
    _receive(session, informed("WCU01", "%"), "WCU01")  # not an event id
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R8.2")).one()
    assert clock.met_at is None
    _receive(session, informed("WCU01", listed["id"]), "WCU01")
    session.refresh(clock)
    assert clock.met_by == "victim.told by WCU01 (phone)"


def test_an_event_id_is_never_reused_for_other_content(
    session: Session, policies: PolicySet
) -> None:
    _story(session, policies, enhanced=False, safe=[])
    listed = _listed(datetime(2026, 2, 20, 15, tzinfo=UTC))
    _receive(session, listed, "STRAMC")
    _receive(session, listed, "STRAMC")  # a retry changes nothing
    assert len(session.scalars(select(CaseEvent)).all()) == 1
    changed = {**listed, "occurredAt": datetime(2026, 2, 21, tzinfo=UTC).isoformat()}
    with pytest.raises(IntakeError, match="already received with different content"):
        receive_event(session, changed, actor_id="client:test", actor_org="STRAMC")
    session.rollback()
    with pytest.raises(IntakeError, match="can only send its own events"):
        receive_event(session, {**listed, "id": str(uuid.uuid4())}, actor_id="x", actor_org="POL01")


def test_victim_contact_scheme_referral_and_release_reach_the_timeline(
    session: Session, policies: PolicySet
) -> None:
    story = _story(session, policies, enhanced=False, safe=[])
    at = datetime(2026, 5, 5, 10, tzinfo=UTC)
    referral = {"caseUrn": URN, "referredBy": "WCU01", "referredAt": at.isoformat()}
    _receive(session, _event("probation.victim_contact.referred", "PS-LDN", referral, at), "PS-LDN")
    clock = session.scalars(select(DutyClock).where(DutyClock.rule_id == "R11.2")).one()
    assert clock.owner_code == "PS-LDN"
    # 20 working days from Tuesday 5 May 2026, with the late May bank holiday (25 May).
    assert clock.due_at.astimezone(LONDON).date().isoformat() == "2026-06-03"
    released = {
        "prisonNumber": "A1234BC",
        "establishment": "PVI",
        "releasedAt": at.isoformat(),
        "releaseType": "licence",
    }
    _receive(session, _event("prison.prisoner.released", "PVI", released, at), "PVI")
    headlines = [e.headline for e in timeline.timeline(session, story)]
    assert headlines[-1] == "The offender was released from prison on licence"
    assert headlines[0].startswith("You were referred to the Victim Contact Scheme")
    templates = set(session.scalars(select(NotifyMessage.template)))
    assert {"vcs-referral", "offender-release"} <= templates
