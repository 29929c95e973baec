"""Agency systems reading victims' stories: the authorisation matrix over the real endpoint.

Every API-client role × every part of a story (who the victim is, their needs and contact,
what happened) × every purpose is asked for over HTTP, on SQLite and PostgreSQL. What is
expected is worked out here from the policy files' index and the victim's consent choices, not
from the code under test: the story reaches an organisation for a purpose when an agreement lets
one of its roles read a victim's records for that purpose (and, where every such agreement rests
on consent, the victim said yes); a read is allowed when it reached the client's organisation
and an agreement grants the role that read with its conditions met.
"""

from __future__ import annotations

from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import func, select
from victims_helpers import add_account, fill_draft, full_answers

from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key, scope
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import Organisation
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, Purpose, RecordKind
from onestory.victims.stories import submit_story
from onestory.victims.tables import StoryRecipient

ADMIN = Actor("user:1", "administrator", None, None)
PARTS = (RecordKind.VICTIM, RecordKind.VICTIM_CONTACT, RecordKind.VICTIM_STORY)
# The victim says yes to support services and no to the compensation authority.
CONSENT = {("victim_support", "victim_support"): True, ("compensation", "compensation"): False}


def _consents(kind: str, purpose: str) -> bool:
    return CONSENT.get((kind, purpose), False)


def expected_routes(policies: PolicySet) -> set[tuple[str, str]]:
    """(organisation kind, purpose) the story should reach, from the agreements alone."""
    offers: dict[tuple[str, str], list[bool]] = {}
    for agreement in policies.agreements:
        for grant in agreement.grants:
            if "read" not in grant.actions or not set(PARTS) & set(grant.record_kinds):
                continue
            for role in grant.roles:
                kind = ROLE_ORGANISATION_KIND[role]
                for purpose in grant.purposes:
                    if kind is None or purpose in ("own_access", "statistics"):
                        continue
                    offers.setdefault((kind, purpose), []).append(agreement.consent_required)
    return {
        key for key, consent_based in offers.items() if not all(consent_based) or _consents(*key)
    }


def expected_read(policies: PolicySet, role: str, part: str, purpose: str) -> bool:
    kind = ROLE_ORGANISATION_KIND[role]
    return any(
        not agreement.own_records_only
        and (not agreement.consent_required or _consents(str(kind), purpose))
        for agreement in policies.lookup(role, "read", part, purpose)
    )


def setup_world(app: FastAPI) -> tuple[str, dict[str, str]]:
    keys: dict[str, str] = {}
    with app.state.sessions() as session:
        for kind in sorted({k for k in ROLE_ORGANISATION_KIND.values() if k is not None}):
            session.add(
                Organisation(code=f"ORG-{kind}", name=f"A {kind} body", kind=kind, police_area="01")
            )
        session.flush()
        victim = add_account(session, "jo@example.org", "victim")
        answers = full_answers()
        answers["who-can-see"] = {
            "choices": {
                f"ORG-{kind}:{purpose}": "yes" if yes else "no"
                for (kind, purpose), yes in CONSENT.items()
            }
        }
        token = fill_draft(session, victim.id, answers)
        story = submit_story(session, app.state.policies, user=victim, draft_token=token).story
        for role, kind in ROLE_ORGANISATION_KIND.items():
            if kind is None:
                continue
            _, key = issue_key(
                session,
                actor=ADMIN,
                organisation_code=f"ORG-{kind}",
                name=f"{role} system",
                role=role,
                scopes=[scope("read", part) for part in PARTS],
            )
            keys[role] = key
        session.commit()
        return story.reference, keys


def decisions(app: FastAPI) -> int:
    with app.state.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.entry_type == "sharing.decision")
            )
            or 0
        )


def test_every_role_part_and_purpose_gets_exactly_what_the_policies_allow(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    policies: PolicySet = victims_app.state.policies
    reference, keys = setup_world(victims_app)
    with victims_app.state.sessions() as session:
        routed = {(r.organisation_kind, r.purpose) for r in session.scalars(select(StoryRecipient))}
    assert routed == expected_routes(policies)
    before = decisions(victims_app)
    asked = allowed = 0
    mismatches = []
    for role, key in keys.items():
        kind = ROLE_ORGANISATION_KIND[role]
        for part in PARTS:
            for purpose in Purpose:
                response = victims_client.get(
                    f"/api/stories/{reference}/{part}",
                    params={"purpose": purpose},
                    headers={"Authorization": f"Bearer {key}"},
                )
                want = (str(kind), str(purpose)) in routed and expected_read(
                    policies, role, part, purpose
                )
                got = response.status_code == 200
                asked += 1
                allowed += got
                if got != want or response.status_code not in (200, 404):
                    mismatches.append((role, part, purpose, response.status_code))
                if got:
                    assert response.json()["reference"] == reference
    assert not mismatches, mismatches[:10]
    assert 0 < allowed < asked
    # Every read the policy was asked about is in the ledger, allowed or refused.
    assert decisions(victims_app) - before == asked


def test_withdrawn_consent_is_honoured_on_the_next_api_read(
    victims_app: FastAPI, victims_client: PageCheckingClient
) -> None:
    from onestory.sharing.consent import withdraw_consent

    reference, keys = setup_world(victims_app)
    headers = {"Authorization": f"Bearer {keys['victim_support_worker']}"}
    url = f"/api/stories/{reference}/victim_story"
    params = {"purpose": "victim_support"}
    assert victims_client.get(url, params=params, headers=headers).status_code == 200
    with victims_app.state.sessions() as session:
        from onestory.victims.stories import story_by_reference

        story = story_by_reference(session, reference)
        assert story is not None
        withdraw_consent(
            session,
            actor=Actor("user:2", "victim", None, None, subject_id=story.victim_id),
            subject_id=story.victim_id,
            organisation_kind="victim_support",
            organisation_code="ORG-victim_support",
            purpose="victim_support",
        )
        session.commit()
    assert victims_client.get(url, params=params, headers=headers).status_code == 404
