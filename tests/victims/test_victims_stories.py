"""Telling a story once: submission, routing by the agreements, consent, versions, reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from victims_helpers import add_account, add_organisations, fill_draft, full_answers

from onestory.ledger.tables import LedgerEntry
from onestory.notify.tables import NotifyMessage
from onestory.sharing.consent import withdraw_consent
from onestory.sharing.policy import PolicySet, load_policies
from onestory.victims.access import NotAllowed, staff_actor, victim_actor
from onestory.victims.stories import (
    StoryError,
    recipients_for,
    staff_view,
    submit_story,
    update_story,
)
from onestory.victims.tables import DutyClock, StoryRecipient

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


def _submit(session: Session, policies: PolicySet, **answers_kw: object):
    add_organisations(session)
    victim_user = add_account(session, "jo@example.org", "victim")
    token = fill_draft(session, victim_user.id, full_answers(**answers_kw))  # type: ignore[arg-type]
    submitted = submit_story(session, policies, user=victim_user, draft_token=token)
    session.commit()
    return victim_user, submitted.story


def test_story_goes_to_police_wcu_and_chosen_support_only(
    session: Session, policies: PolicySet
) -> None:
    _, story = _submit(session, policies, support="yes", compensation="no")
    routed = {(r.organisation_code, r.purpose) for r in session.scalars(select(StoryRecipient))}
    assert routed == {
        ("POL01", "investigation"),
        ("WCU01", "witness_care"),
        ("VS", "victim_support"),
    }
    assert story.reference.startswith("OS-")
    # The support referral duty (R4.1) is met at once, because the story reached the service.
    clock = session.scalars(select(DutyClock)).one()
    assert clock.rule_id == "R4.1"
    assert clock.met_at == story.submitted_at
    # The victim is sent the reference number.
    message = session.scalars(select(NotifyMessage)).one()
    assert message.template == "story-received"
    assert story.reference in message.body


def test_second_submit_returns_the_same_story(session: Session, policies: PolicySet) -> None:
    victim_user, story = _submit(session, policies)
    again = submit_story(session, policies, user=victim_user, draft_token=story.submission_token)
    assert again.created is False
    assert again.story.id == story.id


def test_unanswered_consent_question_is_refused(session: Session, policies: PolicySet) -> None:
    add_organisations(session)
    user = add_account(session, "jo@example.org", "victim")
    answers = full_answers()
    answers["who-can-see"] = {"choices": {}}
    token = fill_draft(session, user.id, answers)
    with pytest.raises(StoryError) as caught:
        submit_story(session, policies, user=user, draft_token=token)
    assert caught.value.page == "who-can-see"


def test_witness_care_sees_needs_but_not_the_story_text(
    session: Session, policies: PolicySet
) -> None:
    _, _story = _submit(session, policies)
    wcu = add_account(session, "wcu@example.org", "witness_care_officer", "WCU01")
    recipient = recipients_for(session, "WCU01")[0]
    view = staff_view(session, policies, staff_actor(wcu), recipient)
    assert view.contact is not None and view.contact.accessibility == "Large print please"
    assert view.victim is not None
    assert view.versions == []


def test_withdrawn_consent_stops_the_support_service_on_the_next_read(
    session: Session, policies: PolicySet
) -> None:
    victim_user, story = _submit(session, policies, support="yes")
    worker = add_account(session, "vs@example.org", "victim_support_worker", "VS")
    recipient = recipients_for(session, "VS")[0]
    view = staff_view(session, policies, staff_actor(worker), recipient)
    assert view.versions and view.versions[0].what_happened.startswith("Someone broke")
    withdraw_consent(
        session,
        actor=victim_actor(victim_user, story.victim),
        subject_id=story.victim_id,
        organisation_kind="victim_support",
        organisation_code="VS",
        purpose="victim_support",
    )
    with pytest.raises(NotAllowed):
        staff_view(session, policies, staff_actor(worker), recipient)


def test_update_keeps_every_version_and_says_what_changed(
    session: Session, policies: PolicySet
) -> None:
    victim_user, story = _submit(session, policies)
    actor = victim_actor(victim_user, story.victim)
    first = story.versions[0]
    unchanged = update_story(
        session,
        policies,
        actor=actor,
        story=story,
        what_happened=first.what_happened,
        happened_on=first.happened_on,
        happened_where=first.happened_where,
        crime_reference=None,
    )
    assert unchanged is None
    version = update_story(
        session,
        policies,
        actor=actor,
        story=story,
        what_happened=first.what_happened + " They also took my keys.",
        happened_on=first.happened_on,
        happened_where=first.happened_where,
        crime_reference="CRN-123",
    )
    assert version is not None and version.version == 2
    assert version.changed == ["what_happened", "crime_reference"]
    police = add_account(session, "pc@example.org", "police_officer", "POL01")
    recipient = next(r for r in recipients_for(session, "POL01"))
    view = staff_view(session, policies, staff_actor(police), recipient, mark_seen=True)
    assert [v.version for v in view.versions] == [1, 2]
    assert view.changed_since_seen == ["what_happened", "crime_reference"]
    assert recipient.seen_version == 2


def test_every_read_is_ledgered(session: Session, policies: PolicySet) -> None:
    _, _story = _submit(session, policies)
    police = add_account(session, "pc@example.org", "police_officer", "POL01")
    before = session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.entry_type == "sharing.decision")
    )
    staff_view(session, policies, staff_actor(police), recipients_for(session, "POL01")[0])
    after = session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.entry_type == "sharing.decision")
    )
    assert after - before == 3  # victim, contact and story: three reads, three entries
