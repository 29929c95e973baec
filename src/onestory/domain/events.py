"""The event envelope agencies exchange, and the registry of event types and versions.

An event says that an agency asserts something happened to a person or a case: ``eventType``
(dotted: ``court.hearing.listed``), ``version``, ``occurredAt`` with its UTC offset, the
asserting organisation, typed person and case references, and a payload whose shape is fixed by
the type and version. The JSON is compatible with the envelope HMPPS services publish today
(``eventType``, ``version``, ``occurredAt``, ``description``, ``detailUrl``,
``personReference.identifiers[{type, value}]``), so agencies already speak most of it.

Each (type, version) is registered once with its payload model; a new version is a new
registration, and old versions stay valid so that agencies can move at their own pace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, Literal, TypeVar, cast
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, PositiveInt, create_model

from onestory.domain.base import Record
from onestory.domain.people import Identifier, PersonReference

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$"
CASE_REFERENCE_TYPES = ("URN", "CCRN", "ASN")

PayloadT = TypeVar("PayloadT", bound=BaseModel)


class EventError(ValueError):
    """An event that cannot be accepted, with a message that says why."""


class CaseReference(Identifier):
    """A case an event is about: police case URN, court case reference or ASN."""

    type: Literal["URN", "CCRN", "ASN"]


class EventEnvelope(Record, Generic[PayloadT]):
    """One event, as agencies send and receive it."""

    id: UUID = Field(description="Unique id chosen by the sender; re-sending it is idempotent")
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN)
    version: PositiveInt
    occurred_at: AwareDatetime
    asserted_by: str = Field(min_length=1, description="Code of the organisation asserting it")
    person_reference: PersonReference | None = None
    case_references: list[CaseReference] = Field(default_factory=list)
    description: str | None = None
    detail_url: str | None = None
    payload: PayloadT


@dataclass(frozen=True)
class EventTypeSpec:
    """A registered event type and version."""

    name: str
    version: int
    payload: type[BaseModel]
    description: str
    about: Literal["person", "case", "person_and_case"]

    @property
    def key(self) -> tuple[str, int]:
        """The registry key: (type name, version)."""
        return (self.name, self.version)


_REGISTRY: dict[tuple[str, int], EventTypeSpec] = {}

ModelT = TypeVar("ModelT", bound=type[BaseModel])


def event_type(
    name: str,
    version: int,
    *,
    description: str,
    about: Literal["person", "case", "person_and_case"] = "person_and_case",
) -> Callable[[ModelT], ModelT]:
    """Register the decorated payload model as event ``name`` version ``version``."""

    def register(payload: ModelT) -> ModelT:
        key = (name, version)
        if key in _REGISTRY:
            raise ValueError(f"event type {name} v{version} is registered twice")
        _REGISTRY[key] = EventTypeSpec(name, version, payload, description, about)
        return payload

    return register


def registered_event_types() -> Iterator[EventTypeSpec]:
    """Every registered event type and version, in name then version order."""
    _load_catalogue()
    return iter(sorted(_REGISTRY.values(), key=lambda s: s.key))


def lookup(name: str, version: int) -> EventTypeSpec:
    """The spec for ``name`` v``version``, or an EventError naming what is known."""
    _load_catalogue()
    spec = _REGISTRY.get((name, version))
    if spec is None:
        known = sorted(v for (n, v) in _REGISTRY if n == name)
        if known:
            raise EventError(
                f"event type {name!r} has no version {version}; known versions: {known}"
            )
        raise EventError(f"unknown event type {name!r}")
    return spec


@cache
def envelope_model(name: str, version: int) -> type[EventEnvelope[Any]]:
    """The envelope model for one type and version, with the type and version fixed."""
    spec = lookup(name, version)
    model_name = "".join(p.title() for p in name.replace("_", ".").split(".")) + f"V{version}"
    # Literal[...] built at run time: the schema then pins the type and version with "const".
    fixed_type: Any = Literal[name]
    fixed_version: Any = Literal[version]
    base: Any = EventEnvelope[spec.payload]  # type: ignore[name-defined]
    model = create_model(
        model_name,
        __base__=base,
        __doc__=spec.description,
        event_type=(fixed_type, Field(alias="eventType")),
        version=(fixed_version, Field(alias="version")),
    )
    return cast(type[EventEnvelope[Any]], model)


def parse_event(data: Mapping[str, Any]) -> EventEnvelope[Any]:
    """Validate a decoded JSON event against the model for its type and version."""
    name = data.get("eventType", data.get("event_type"))
    version = data.get("version")
    if not isinstance(name, str):
        raise EventError("event has no eventType (a dotted name such as 'court.hearing.listed')")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EventError(f"event {name!r} has no integer version")
    return envelope_model(name, version).model_validate(dict(data))


def _load_catalogue() -> None:
    # The catalogue registers itself on import; importing here keeps callers from having to
    # remember to do it.
    from onestory.domain import catalogue  # noqa: F401
