"""JSON Schema for every registered event type and version, for agencies to validate against."""

from __future__ import annotations

from typing import Any

from onestory.domain.events import envelope_model, registered_event_types
from onestory.domain.people import RecordSubmission

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_id(name: str, version: int) -> str:
    """A stable identifier for one event type's schema."""
    return f"https://onestory.example/schemas/events/{name}/v{version}.json"


def event_json_schema(name: str, version: int) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the envelope for ``name`` v``version``, validation mode."""
    schema = envelope_model(name, version).model_json_schema(by_alias=True, mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id(name, version), **schema}


def all_event_schemas() -> dict[str, dict[str, Any]]:
    """Every event schema, keyed by a file name ``<type>.v<version>.schema.json``."""
    return {
        f"{spec.name}.v{spec.version}.schema.json": event_json_schema(spec.name, spec.version)
        for spec in registered_event_types()
    }


RECORD_SCHEMA_FILE = "record.v1.schema.json"


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a record sent about a person (``POST /api/records``)."""
    schema = RecordSubmission.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": "https://onestory.example/schemas/records/v1.json",
        **schema,
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every published schema: one per event type and version, and the record schema."""
    return {**all_event_schemas(), RECORD_SCHEMA_FILE: record_json_schema()}
