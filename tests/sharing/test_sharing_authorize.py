"""Access decisions: the whole policy matrix, consent taking effect at once, every decision
ledgered, and refusals when anything goes wrong."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from onestory.ledger.tables import LedgerEntry, LedgerHead, LedgerPayload
from onestory.sharing.authorize import Actor, Decision, RecordRef, authorize, decide
from onestory.sharing.consent import grant_consent, withdraw_consent
from onestory.sharing.policy import Permission, PolicySet
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, Role

OWNER = "person-7"
SAMPLE_DENIED = 200


def actor_for(role: str, user: str = "user-1") -> Actor:
    """An actor holding ``role`` in an organisation of the role's kind (none for the public)."""
    kind = ROLE_ORGANISATION_KIND[Role(role)]
    return Actor(user, role, f"{kind}-01" if kind else None, kind)


def owned_by_actor(cell: Permission) -> tuple[Actor, RecordRef]:
    """The actor for a cell and a record about that actor (so own_access can apply)."""
    actor = actor_for(cell.role, user=OWNER)
    return actor, RecordRef(cell.record_kind, "rec-1", owner_subject_id=OWNER)


def decide_cell(policies: PolicySet, cell: Permission, consent: bool) -> Decision:
    actor, record = owned_by_actor(cell)
    return decide(
        policies,
        actor=actor,
        action=cell.action,
        record=record,
        purpose=cell.purpose,
        consent_lookup=lambda *_: consent,
    )


def test_decide_allows_exactly_the_matrix(policies: PolicySet) -> None:
    wrong = [
        (c, d.reason)
        for c in policies.matrix()
        if (d := decide_cell(policies, c, consent=True)).allowed != c.allowed
    ]
    assert not wrong, wrong[:5]


def test_without_consent_only_non_consent_agreements_allow(policies: PolicySet) -> None:
    for cell in policies.matrix():
        agreements = policies.lookup(cell.role, cell.action, cell.record_kind, cell.purpose)
        expected = any(not a.consent_required for a in agreements)
        decision = decide_cell(policies, cell, consent=False)
        assert decision.allowed == expected, (cell, decision.reason)
        if decision.allowed:
            assert decision.rule in {a.id for a in agreements}
            assert decision.lawful_basis is policies.by_id[decision.rule].lawful_basis


def stratified_sample(policies: PolicySet) -> Iterator[Permission]:
    """Every allowed cell (so every agreement is exercised) and a seeded sample of the rest."""
    cells = list(policies.matrix())
    yield from (c for c in cells if c.allowed)
    denied = [c for c in cells if not c.allowed]
    yield from random.Random(20261127).sample(denied, SAMPLE_DENIED)


def ledger_count(session: Session, entry_type: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.entry_type == entry_type)
        )
        or 0
    )


def test_authorize_on_the_database_follows_the_policy_files(
    session: Session, policies: PolicySet
) -> None:
    cells = list(stratified_sample(policies))
    consent_agreements = [a for a in policies.agreements if a.consent_required]
    for agreement in consent_agreements:
        # Consent given by the record's owner to the grantee's kind of organisation.
        for grant in agreement.grants:
            for role in grant.roles:
                kind = ROLE_ORGANISATION_KIND[role]
                assert kind is not None
                for purpose in grant.purposes:
                    grant_consent(
                        session,
                        actor=actor_for("victim", OWNER),
                        subject_id=OWNER,
                        organisation_kind=kind,
                        purpose=purpose,
                    )
    rules_seen: set[str] = set()
    for cell in cells:
        actor, record = owned_by_actor(cell)
        decision = authorize(
            session,
            actor=actor,
            action=cell.action,
            record=record,
            purpose=cell.purpose,
            justification="matrix test",
            policies=policies,
        )
        assert decision.allowed == cell.allowed, (cell, decision.reason)
        if decision.rule:
            rules_seen.add(decision.rule)
    session.commit()
    assert rules_seen == set(policies.by_id), "every agreement allowed something"
    assert ledger_count(session, "sharing.decision") == len(cells)


def test_consent_takes_effect_on_the_next_read(session: Session, policies: PolicySet) -> None:
    worker = actor_for("victim_support_worker")
    victim = actor_for("victim", OWNER)
    record = RecordRef("victim_contact", "contact-1", owner_subject_id=OWNER)

    def ask() -> Decision:
        return authorize(
            session,
            actor=worker,
            action="read",
            record=record,
            purpose="victim_support",
            policies=policies,
        )

    assert not ask().allowed
    grant_consent(
        session,
        actor=victim,
        subject_id=OWNER,
        organisation_kind="victim_support",
        purpose="victim_support",
    )
    allowed = ask()
    assert allowed == Decision(
        True,
        "police-victim-support-referral",
        "allowed by police-victim-support-referral",
        allowed.lawful_basis,
    )
    assert allowed.lawful_basis == "consent"
    withdraw_consent(
        session,
        actor=victim,
        subject_id=OWNER,
        organisation_kind="victim_support",
        purpose="victim_support",
    )
    denied = ask()
    assert not denied.allowed
    assert "has not consented" in denied.reason
    session.commit()
    assert ledger_count(session, "sharing.consent.granted") == 1
    assert ledger_count(session, "sharing.consent.withdrawn") == 1
    assert ledger_count(session, "sharing.decision") == 3


def test_one_organisations_withdrawal_beats_a_kind_wide_grant(
    session: Session, policies: PolicySet
) -> None:
    victim = actor_for("victim", OWNER)
    record = RecordRef("victim", "v-1", owner_subject_id=OWNER)
    scope = {
        "subject_id": OWNER,
        "organisation_kind": "victim_support",
        "purpose": "victim_support",
    }
    grant_consent(session, actor=victim, **scope)
    withdraw_consent(session, actor=victim, organisation_code="victim_support-01", **scope)
    this_one = actor_for("victim_support_worker")
    other = Actor("user-2", "victim_support_worker", "victim_support-02", "victim_support")

    def may_read(actor: Actor) -> bool:
        return authorize(
            session,
            actor=actor,
            action="read",
            record=record,
            purpose="victim_support",
            policies=policies,
        ).allowed

    assert not may_read(this_one)
    assert may_read(other)


def test_the_decision_is_ledgered_with_its_details(session: Session, policies: PolicySet) -> None:
    officer = actor_for("police_officer")
    record = RecordRef("case", "case-9", owner_subject_id=None)
    decision = authorize(
        session,
        actor=officer,
        action="export",
        record=record,
        purpose="investigation",
        justification="bulk download",
        policies=policies,
    )
    session.commit()
    assert not decision.allowed
    entry = session.scalars(
        select(LedgerEntry).where(LedgerEntry.entry_type == "sharing.decision")
    ).one()
    assert (entry.actor, entry.actor_org, entry.purpose) == ("user-1", "police-01", "investigation")
    assert entry.subjects == [{"kind": "case", "id": "case-9"}]
    payload = session.get(LedgerPayload, entry.seq)
    assert payload is not None
    assert payload.payload == {
        "action": "export",
        "role": "police_officer",
        "allowed": False,
        "rule": None,
        "reason": "no agreement lets a police_officer export case records for investigation",
        "justification": "bulk download",
    }


@pytest.mark.parametrize(
    ("actor", "reason"),
    [
        (Actor("u", "police_officer", "cps-01", "cps"), "role police_officer belongs to police"),
        (Actor("u", "police_officer", None, "police"), "must act for a named organisation"),
        (Actor("u", "sheriff", "police-01", "police"), "'sheriff' is not a role"),
        (Actor("u", "analyst", "police-01", "police"), "role analyst belongs to no organisation"),
    ],
)
def test_a_role_outside_its_organisation_is_refused(
    policies: PolicySet, actor: Actor, reason: str
) -> None:
    decision = decide(
        policies,
        actor=actor,
        action="read",
        record=RecordRef("case", "c"),
        purpose="investigation",
        consent_lookup=lambda *_: True,
    )
    assert not decision.allowed
    assert reason in decision.reason


def test_own_access_is_only_to_ones_own_records(policies: PolicySet) -> None:
    someone_else = RecordRef("victim_story", "s-1", owner_subject_id="person-8")
    decision = decide(
        policies,
        actor=actor_for("victim", OWNER),
        action="read",
        record=someone_else,
        purpose="own_access",
        consent_lookup=lambda *_: True,
    )
    assert not decision.allowed
    assert decision.reason == "victim-own-access: the record is not the actor's own"


def test_a_consent_lookup_that_fails_is_a_refusal(policies: PolicySet) -> None:
    def broken(*_: object) -> bool:
        raise RuntimeError("consent store unreachable")

    decision = decide(
        policies,
        actor=actor_for("victim_support_worker"),
        action="read",
        record=RecordRef("victim", "v-1", owner_subject_id=OWNER),
        purpose="victim_support",
        consent_lookup=broken,
    )
    assert decision == Decision(
        False, None, "refused because the check failed (RuntimeError: consent store unreachable)"
    )


def test_a_decision_that_cannot_be_ledgered_is_a_refusal(
    session: Session, policies: PolicySet
) -> None:
    # Without the head row the ledger cannot append, so not even an allowed read may proceed.
    session.execute(update(LedgerHead).values(id=99))
    decision = authorize(
        session,
        actor=actor_for("police_officer"),
        action="read",
        record=RecordRef("case", "case-1"),
        purpose="investigation",
        policies=policies,
    )
    assert decision == Decision(
        False, None, "refused because the decision could not be logged (LedgerError)"
    )
