"""Agency systems reading events: the authorisation matrix over the real endpoint.

Every API-client role × every event type (so every record kind events carry) × every purpose
is asked for over HTTP, on SQLite and PostgreSQL. What is expected is read from the policy
files' index (an agreement grants the role `read` on that kind for that purpose, with no
consent or own-record condition, since events name no consenting owner) — so the test
follows the policies, and a change to a policy file changes what it expects.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import func, select

from onestory.exchange.api import EVENT_RECORD_KINDS
from onestory.exchange.tables import StoredEvent
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key, scope
from onestory.sharing.policy import PolicySet
from onestory.sharing.tables import Organisation
from onestory.sharing.vocabulary import ROLE_ORGANISATION_KIND, Purpose, RecordKind

ADMIN = Actor("user:1", "administrator", None, None)
ALL_READ_SCOPES = [scope("read", kind) for kind in RecordKind]


def expected(policies: PolicySet, role: str, kind: str, purpose: str) -> bool:
    return any(
        not agreement.consent_required and not agreement.own_records_only
        for agreement in policies.lookup(role, "read", kind, purpose)
    )


def setup_world(app: FastAPI) -> tuple[dict[str, str], dict[str, str]]:
    """One event per type, one organisation per kind, and a key per client role."""
    events: dict[str, str] = {}
    keys: dict[str, str] = {}
    with app.state.sessions() as session:
        for kind in {k for k in ROLE_ORGANISATION_KIND.values() if k is not None}:
            session.add(Organisation(code=f"ORG-{kind}", name=f"A {kind} body", kind=kind))
        for event_type in EVENT_RECORD_KINDS:
            event_id = str(uuid.uuid4())
            session.add(
                StoredEvent(
                    id=event_id,
                    type=event_type,
                    version=1,
                    occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                    asserted_by="X",
                    envelope={"id": event_id, "eventType": event_type},
                )
            )
            events[event_type] = event_id
        session.flush()
        for role, kind in ROLE_ORGANISATION_KIND.items():
            if kind is None:
                continue  # people without an organisation are not system clients
            _, key = issue_key(
                session,
                actor=ADMIN,
                organisation_code=f"ORG-{kind}",
                name=f"{role} system",
                role=role,
                scopes=ALL_READ_SCOPES,
            )
            keys[role] = key
        session.commit()
    return events, keys


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


def test_every_role_event_and_purpose_gets_exactly_what_the_policies_allow(
    app: FastAPI, client: PageCheckingClient
) -> None:
    policies: PolicySet = app.state.policies
    events, keys = setup_world(app)
    asked = allowed = 0
    mismatches = []
    for role, key in keys.items():
        headers = {"Authorization": f"Bearer {key}"}
        for event_type, event_id in events.items():
            kind = EVENT_RECORD_KINDS[event_type]
            for purpose in Purpose:
                response = client.get(
                    f"/api/events/{event_id}", params={"purpose": purpose}, headers=headers
                )
                want = expected(policies, role, kind, purpose)
                got = response.status_code == 200
                asked += 1
                allowed += got
                if got != want or response.status_code not in (200, 404):
                    mismatches.append((role, event_type, purpose, response.status_code))
                if got:
                    assert response.json()["event"]["id"] == event_id
    assert not mismatches, mismatches[:10]
    assert 0 < allowed < asked
    # Every read attempt the policy decided is in the ledger, allowed or refused.
    assert decisions(app) == asked


def test_a_key_without_the_scope_sees_nothing_and_nothing_is_decided(
    app: FastAPI, client: PageCheckingClient
) -> None:
    events, _ = setup_world(app)
    with app.state.sessions() as session:
        _, narrow = issue_key(
            session,
            actor=ADMIN,
            organisation_code="ORG-police",
            name="narrow",
            role="police_officer",
            scopes=[scope("read", "custody")],
        )
        session.commit()
    response = client.get(
        f"/api/events/{events['police.crime.recorded']}",
        params={"purpose": "investigation"},
        headers={"Authorization": f"Bearer {narrow}"},
    )
    assert response.status_code == 404
    assert decisions(app) == 0
    unknown = client.get(
        "/api/events/no-such-event",
        params={"purpose": "investigation"},
        headers={"Authorization": f"Bearer {narrow}"},
    )
    assert unknown.status_code == 404
    assert unknown.json() == response.json()
    assert client.get(f"/api/events/{events['police.crime.recorded']}").status_code == 401
