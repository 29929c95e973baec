"""The HMPPS domain-event envelope: every event type out and back unchanged, HMPPS messages
coming in with missing facts named rather than guessed, and an HMPPS message posted to
/api/events stored as our event (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from onestory.config import Settings
from onestory.domain.events import parse_event, registered_event_types
from onestory.exchange.hmpps import HMPPS_NAMES, HmppsError, from_hmpps, is_hmpps, to_hmpps
from onestory.exchange.tables import StoredEvent
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import Organisation
from onestory.synth.world import write_world
from onestory.web.app import create_app

ADMIN = Actor("user:1", "administrator", None, None)
TYPES = sorted({spec.name for spec in registered_event_types()})


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One event of each type, from a small synthetic world."""
    out = tmp_path_factory.mktemp("world")
    write_world(out, people=40, seed=1)
    found: dict[str, dict[str, Any]] = {}
    with (out / "events.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            found.setdefault(event["eventType"], event)
    return found


@pytest.mark.parametrize("event_type", TYPES)
def test_every_event_type_goes_out_and_comes_back_unchanged(
    samples: dict[str, dict[str, Any]], event_type: str
) -> None:
    assert event_type in samples, f"the synthetic world made no {event_type} event"
    event = samples[event_type]

    message = to_hmpps(event)
    back = from_hmpps(json.loads(json.dumps(message)))

    assert is_hmpps(message) and not is_hmpps(event)
    assert message["eventType"] == HMPPS_NAMES.get(event_type, f"onestory.{event_type}")
    assert {"version", "occurredAt", "publishedAt", "description"} <= message.keys()
    assert parse_event(back) == parse_event(event)


def test_prison_events_speak_hmpps_keys(samples: dict[str, dict[str, Any]]) -> None:
    received = to_hmpps(samples["prison.prisoner.received"])
    released = to_hmpps(samples["prison.prisoner.released"])
    custody = samples["prison.prisoner.received"]["payload"]["custody"]

    assert received["eventType"] == "prisoner-offender-search.prisoner.received"
    assert released["eventType"] == "prison-offender-events.prisoner.released"
    info = received["additionalInformation"]
    assert (info["nomsNumber"], info["prisonId"], info["reason"]) == (
        custody["prisonNumber"],
        custody["establishment"],
        "ADMISSION",
    )
    assert released["additionalInformation"]["reason"] in {"RELEASED", "TRANSFERRED"}
    assert received["personReference"]["identifiers"][0]["type"] == "NOMS"


def release_message(**info: Any) -> dict[str, Any]:
    """A release as an HMPPS service publishes it: no OneStory extras."""
    return {
        "eventType": "prison-offender-events.prisoner.released",
        "version": 1,
        "occurredAt": "2026-08-27T09:00:00+01:00",
        "publishedAt": "2026-08-27T09:00:02.123+01:00",
        "description": "A prisoner has been released from a prison",
        "additionalInformation": {"nomsNumber": "A1234BC", "prisonId": "MDI", **info},
    }


def test_an_hmpps_message_becomes_our_event_with_nothing_guessed() -> None:
    message = release_message(reason="RELEASED", releaseType="licence")

    ours = from_hmpps(message, asserted_by="MDI")
    again = from_hmpps({**message, "publishedAt": "2026-08-27T10:00:00+01:00"}, asserted_by="MDI")

    assert ours["eventType"] == "prison.prisoner.released"
    assert ours["assertedBy"] == "MDI"
    assert ours["payload"] == {
        "prisonNumber": "A1234BC",
        "establishment": "MDI",
        "releasedAt": "2026-08-27T09:00:00+01:00",
        "releaseType": "licence",
    }
    assert ours["personReference"] == {"identifiers": [{"type": "NOMS", "value": "A1234BC"}]}
    assert ours["description"] == "A prisoner has been released from a prison"
    assert again["id"] == ours["id"], "re-publishing the same message must be the same event"
    transfer = from_hmpps(release_message(reason="TRANSFERRED"), asserted_by="MDI")
    assert transfer["payload"]["releaseType"] == "transfer"


@pytest.mark.parametrize(
    ("message", "where", "says"),
    [
        (release_message(reason="RELEASED"), "additionalInformation.releaseType", "missing"),
        (
            release_message(reason="TEMPORARY_ABSENCE_RELEASE", releaseType="licence"),
            "additionalInformation.reason",
            "not a release from custody",
        ),
        (
            release_message(reason="RELEASED", releaseType="licence", nomsNumber="12345"),
            "additionalInformation.nomsNumber",
            "A1234BC",
        ),
        (
            release_message(reason="RELEASED", releaseType="parole"),
            "additionalInformation.releaseType",
            "",
        ),
        (
            {**release_message(reason="RELEASED"), "eventType": "prison.visit.booked"},
            "eventType",
            "not an event OneStory takes",
        ),
        (
            {
                "eventType": "prisoner-offender-search.prisoner.received",
                "version": 1,
                "occurredAt": "2026-08-27T09:00:00+01:00",
                "additionalInformation": {
                    "nomsNumber": "A1234BC",
                    "prisonId": "MDI",
                    "reason": "ADMISSION",
                },
            },
            "additionalInformation.receptionReason",
            "will not guess",
        ),
        (
            {
                "eventType": "onestory.probation.supervision.ended",
                "version": 1,
                "occurredAt": "2026-08-27T09:00:00+01:00",
                "additionalInformation": {
                    "payload": {"crn": "X123456", "reason": "completed"},
                },
            },
            "additionalInformation.payload.endedOn",
            "Field required",
        ),
        (
            {
                "eventType": "onestory.probation.supervision.ended",
                "version": 7,
                "occurredAt": "2026-08-27T09:00:00+01:00",
                "additionalInformation": {"payload": {}},
            },
            "eventType",
            "no version 7",
        ),
    ],
)
def test_what_cannot_be_converted_is_named(message: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(HmppsError) as raised:
        from_hmpps(message, asserted_by="MDI")
    assert raised.value.where == where
    assert says in str(raised.value)


def test_without_a_sender_the_asserting_organisation_is_missing() -> None:
    with pytest.raises(HmppsError, match=r"additionalInformation\.assertedBy"):
        from_hmpps(release_message(reason="RELEASED", releaseType="licence"))


# ---- over the API ---------------------------------------------------------------------------


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test", data_dir=tmp_path, secret_key="x" * 48, notify_interval=0, webhook_interval=0
    )
    application = create_app(settings, engine=engine)
    with application.state.sessions() as session:
        session.add(Organisation(code="MDI", name="HMP Moorland", kind="prison"))
        session.commit()
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def prison_key(app: FastAPI) -> dict[str, str]:
    with app.state.sessions() as session:
        _, plaintext = issue_key(
            session,
            actor=ADMIN,
            organisation_code="MDI",
            name="NOMIS",
            role="prison_officer",
            scopes=["create:custody"],
        )
        session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_posting_an_hmpps_message_stores_the_event(app: FastAPI, client: TestClient) -> None:
    headers = prison_key(app)
    url = "/api/events?purpose=offender_management"
    message = {
        "eventType": "prisoner-offender-search.prisoner.received",
        "version": 1,
        "occurredAt": "2026-05-29T16:00:00+01:00",
        "publishedAt": "2026-05-29T16:00:01+01:00",
        "description": "A prisoner has been received into prison",
        "personReference": {"identifiers": [{"type": "NOMS", "value": "A6205AP"}]},
        "additionalInformation": {
            "nomsNumber": "A6205AP",
            "prisonId": "MDI",
            "reason": "ADMISSION",
            "receptionReason": "remand",
        },
    }

    first = client.post(url, json=message, headers=headers)
    again = client.post(
        url, json={**message, "publishedAt": "2026-05-29T17:00:00+01:00"}, headers=headers
    )
    bad = client.post(
        url,
        json={
            **message,
            "additionalInformation": {**message["additionalInformation"], "reason": "TRANSFERRED"},
        },
        headers=headers,
    )

    assert first.status_code == 201, first.text
    assert first.json()["type"] == "prison.prisoner.received"
    assert again.status_code == 200 and again.json()["created"] is False
    assert bad.status_code == 422
    assert bad.json()["detail"]["field"] == "additionalInformation.reason"
    with app.state.sessions() as session:
        stored = session.get(StoredEvent, first.json()["id"])
        assert stored is not None and stored.asserted_by == "MDI"
        assert stored.envelope["payload"]["custody"]["reason"] == "remand"
        received = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "exchange.event.received")
        ).all()
    assert [e.subjects for e in received] == [[{"kind": "event", "id": first.json()["id"]}]]
