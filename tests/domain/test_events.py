"""The event envelope, the registry and the exported JSON Schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from onestory.domain.events import EventError, lookup, parse_event, registered_event_types
from onestory.domain.schema import all_event_schemas, event_json_schema


def hearing_listed(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": str(uuid.UUID(int=1, version=4)),
        "eventType": "court.hearing.listed",
        "version": 1,
        "occurredAt": "2026-03-02T09:30:00+00:00",
        "assertedBy": "C01LY",
        "personReference": {"identifiers": [{"type": "PNC", "value": "02/73319Z"}]},
        "caseReferences": [{"type": "URN", "value": "61gd7528225"}],
        "payload": {
            "hearing": {
                "hearingId": "h-1",
                "caseUrn": "61GD7528225",
                "court": "C01LY",
                "hearingType": "first_appearance",
                "startsAt": "2026-03-16T10:00:00+00:00",
            },
            "defendantId": str(uuid.UUID(int=2, version=4)),
        },
    }
    event.update(overrides)
    return event


def test_parse_event_normalises_identifiers_and_keeps_the_type() -> None:
    event = parse_event(hearing_listed())
    assert event.event_type == "court.hearing.listed"
    assert event.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert event.person_reference is not None
    assert event.person_reference.first("PNC") == "2002/0073319Z"
    assert event.case_references[0].value == "61GD7528225"
    assert event.payload.hearing.hearing_type == "first_appearance"
    dumped = event.model_dump(mode="json")
    assert dumped["eventType"] == "court.hearing.listed"
    assert dumped["personReference"]["identifiers"][0] == {"type": "PNC", "value": "2002/0073319Z"}


def test_round_trip_through_json_is_stable() -> None:
    first = parse_event(hearing_listed())
    again = parse_event(first.model_dump(mode="json"))
    assert again == first


def test_unknown_type_and_version_say_what_is_known() -> None:
    with pytest.raises(EventError, match=r"unknown event type 'court\.hearing\.cancelled'"):
        parse_event(hearing_listed(eventType="court.hearing.cancelled"))
    with pytest.raises(EventError, match=r"no version 9; known versions: \[1\]"):
        parse_event(hearing_listed(version=9))
    with pytest.raises(EventError, match="no eventType"):
        parse_event({"version": 1})


def test_naive_time_bad_identifier_and_unknown_field_are_rejected() -> None:
    with pytest.raises(ValidationError, match="occurredAt"):
        parse_event(hearing_listed(occurredAt="2026-03-02T09:30:00"))
    with pytest.raises(ValidationError, match="check character"):
        parse_event(
            hearing_listed(
                personReference={"identifiers": [{"type": "PNC", "value": "2001/0171310S"}]}
            )
        )
    with pytest.raises(ValidationError, match="extra"):
        parse_event(hearing_listed(colour="blue"))


def test_every_registered_type_has_a_schema_file_and_a_description() -> None:
    specs = list(registered_event_types())
    schemas = all_event_schemas()
    assert len(specs) == len(schemas) >= 14
    for spec in specs:
        assert spec.description
        assert f"{spec.name}.v{spec.version}.schema.json" in schemas


def test_exported_schema_is_valid_and_fixes_type_and_version() -> None:
    schema = event_json_schema("court.hearing.listed", 1)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    canonical = {"identifiers": [{"type": "PNC", "value": "2002/0073319Z"}]}
    # The schema states the canonical forms OneStory emits; the parser also takes other spellings.
    assert validator.is_valid(
        hearing_listed(
            personReference=canonical, caseReferences=[{"type": "URN", "value": "61GD7528225"}]
        )
    )
    assert not validator.is_valid(hearing_listed(eventType="court.sentence.imposed"))
    assert not validator.is_valid(hearing_listed(version=2))
    bad_pnc = {"identifiers": [{"type": "PNC", "value": "not a pnc"}]}
    assert not validator.is_valid(hearing_listed(personReference=bad_pnc))


def test_lookup_gives_payload_model() -> None:
    spec = lookup("prison.prisoner.released", 1)
    assert spec.payload.__name__ == "PrisonerReleased"
    assert spec.about == "person"
