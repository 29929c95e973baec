"""Agency systems sending events: scope, idempotency by event id, conflicts, and bad input
answered with the field at fault -- over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from page_checks import PageCheckingClient

from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import Organisation

ADMIN = Actor("user:1", "administrator", None, None)
URN = "01AB1234526"


def _key(app: FastAPI, scopes: list[str]) -> dict[str, str]:
    with app.state.sessions() as session:
        if session.get(Organisation, 1) is None:
            session.add(Organisation(code="STRAMC", name="Stratford", kind="court"))
            session.flush()
        _, key = issue_key(
            session,
            actor=ADMIN,
            organisation_code="STRAMC",
            name="court system",
            role="court_officer",
            scopes=scopes,
        )
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def _listed(**changes: Any) -> dict[str, Any]:
    event = {
        "id": str(uuid.uuid4()),
        "eventType": "court.hearing.listed",
        "version": 1,
        "occurredAt": "2026-03-02T10:00:00+00:00",
        "assertedBy": "STRAMC",
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": {
            "hearing": {
                "hearingId": "H1",
                "caseUrn": URN,
                "court": "STRAMC",
                "hearingType": "trial",
                "startsAt": "2026-04-02T10:00:00+01:00",
            },
            "defendantId": str(uuid.uuid4()),
        },
    }
    event.update(changes)
    return event


def test_sending_an_event_is_idempotent_by_its_id(app: FastAPI, client: PageCheckingClient) -> None:
    headers = _key(app, ["create:hearing"])
    event = _listed()
    url = "/api/events?purpose=prosecution"
    assert client.post(url, json=event, headers=headers).status_code == 201
    again = client.post(url, json=event, headers=headers)
    assert again.status_code == 200 and again.json()["created"] is False
    changed = {**event, "occurredAt": "2026-03-03T10:00:00+00:00"}
    conflict = client.post(url, json=changed, headers=headers)
    assert conflict.status_code == 409
    assert "already received with different content" in conflict.text


def test_refusals_say_what_to_do(app: FastAPI, client: PageCheckingClient) -> None:
    url = "/api/events?purpose=prosecution"
    narrow = _key(app, ["read:hearing"])
    refused = client.post(url, json=_listed(), headers=narrow)
    assert refused.status_code == 403
    assert "ask your administrator for a key with the scope create:hearing" in refused.text
    headers = _key(app, ["create:hearing"])
    bad = _listed(occurredAt="yesterday")
    invalid = client.post(url, json=bad, headers=headers)
    assert invalid.status_code == 422
    assert invalid.json()["detail"]["field"] == "occurredAt"
    other = client.post(url, json=_listed(assertedBy="SNARCC"), headers=headers)
    assert other.status_code == 422
    assert "can only send its own events" in other.text
