"""Every event validates against its model and its published JSON Schema, and makes sense."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from jsonschema import Draft202012Validator
from synth_world import World

from onestory.domain.events import parse_event, registered_event_types
from onestory.domain.schema import event_json_schema


def test_every_event_validates_with_the_model_and_the_schema(small_world: World) -> None:
    validators: dict[tuple[str, int], Draft202012Validator] = {}
    seen: Counter[str] = Counter()
    for event in small_world.events():
        key = (event["eventType"], event["version"])
        if key not in validators:
            validators[key] = Draft202012Validator(event_json_schema(*key))
        errors = [e.message for e in validators[key].iter_errors(event)]
        assert not errors, (event["id"], errors[:3])
        parsed = parse_event(event)
        assert str(parsed.id) == event["id"]
        seen[event["eventType"]] += 1
    assert sum(seen.values()) == small_world.summary.rows["events.jsonl"]
    registered = {spec.name for spec in registered_event_types()}
    assert set(seen) == registered, registered - set(seen)


def test_event_ids_are_unique_and_times_carry_an_offset(small_world: World) -> None:
    ids = set()
    offsets = set()
    for event in small_world.events():
        assert event["id"] not in ids
        ids.add(event["id"])
        when = datetime.fromisoformat(event["occurredAt"])
        assert when.utcoffset() is not None
        offsets.add(event["occurredAt"][-6:])
    assert offsets == {"+00:00", "+01:00"}  # GMT and BST both occur over the years


def test_victims_are_informed_after_what_they_are_told_about(small_world: World) -> None:
    when = {}
    informed = []
    for event in small_world.events():
        when[event["id"]] = datetime.fromisoformat(event["occurredAt"])
        if event["eventType"] == "witness_care.victim.informed":
            informed.append(event)
    assert informed
    for event in informed:
        about = event["payload"]["aboutEventId"]
        assert about in when
        assert datetime.fromisoformat(event["payload"]["informedAt"]) >= when[about]
        assert event["personReference"]["identifiers"][0]["type"] == "NHS"


def test_events_carry_clean_identifiers(small_world: World) -> None:
    for event in small_world.events():
        for identifier in event.get("personReference", {}).get("identifiers", []):
            # parse_event already validated them; canonical means they are written as parsed
            assert identifier["value"] == identifier["value"].strip().upper()
    assert all(row["noise"] == "" for row in small_world.truth_for("events.jsonl"))
