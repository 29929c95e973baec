"""People as agencies record them: names, aliases, dates of birth, addresses, identifiers."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Self

from pydantic import ConfigDict, Field, TypeAdapter, model_validator

from onestory.domain.base import Record
from onestory.domain.identifiers import IDENTIFIER_TYPES, CaseURN, parse_identifier

IDENTIFIER_TYPE_CODES = tuple(IDENTIFIER_TYPES)


def _identifier_value_schemas(schema: dict[str, Any]) -> None:
    # The value's pattern depends on the type, which JSON Schema can only say as one branch per
    # type; agencies validating before sending then catch a malformed PNC ID, not just a string.
    schema["oneOf"] = [
        {
            "properties": {
                "type": {"const": code},
                "value": {"pattern": TypeAdapter(cls).json_schema()["pattern"]},
            }
        }
        for code, cls in IDENTIFIER_TYPES.items()
    ]


class NameKind(StrEnum):
    """Why a person is known by a name."""

    BIRTH = "birth"
    CURRENT = "current"
    ALIAS = "alias"
    MARRIED = "married"
    PREVIOUS = "previous"


class PersonName(Record):
    """One name a person is known by."""

    forenames: list[str] = Field(min_length=1, description="Given names, first name first")
    surname: str = Field(min_length=1)
    kind: NameKind = NameKind.CURRENT


class Address(Record):
    """A postal address, with the dates it was known to be current."""

    lines: list[str] = Field(default_factory=list, max_length=5)
    town: str | None = None
    postcode: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class Identifier(Record):
    """A typed identifier, validated and normalised by its type.

    ``type`` is a code such as ``PNC``, ``NOMS`` or ``CRN`` (the HMPPS event envelope uses the
    same shape: ``{"type": "NOMS", "value": "A1234BC"}``).
    """

    model_config = ConfigDict(json_schema_extra=_identifier_value_schemas)

    type: str = Field(json_schema_extra={"enum": list(IDENTIFIER_TYPE_CODES)})
    value: str

    @model_validator(mode="after")
    def _canonical(self) -> Self:
        canonical = str(parse_identifier(self.type, self.value))
        if canonical != self.value:
            object.__setattr__(self, "value", canonical)
        return self


class HeldIdentifier(Identifier):
    """An identifier together with the organisation whose system holds it."""

    held_by: str | None = Field(default=None, description="Organisation code")


class Sex(StrEnum):
    """Sex as recorded by the agency (the value agencies' extracts carry)."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Person(Record):
    """A person as one agency knows them; several such records may be one real person."""

    names: list[PersonName] = Field(min_length=1)
    dates_of_birth: list[date] = Field(default_factory=list)
    sex: Sex = Sex.UNKNOWN
    addresses: list[Address] = Field(default_factory=list)
    identifiers: list[HeldIdentifier] = Field(default_factory=list)

    @property
    def primary_name(self) -> PersonName:
        """The first name recorded, which agencies treat as the main one."""
        return self.names[0]


class PersonReference(Record):
    """Who an event is about, by identifiers (the HMPPS ``personReference`` shape)."""

    identifiers: list[Identifier] = Field(min_length=1)

    def first(self, type_code: str) -> str | None:
        """The value of the first identifier of ``type_code``, if any."""
        return next((i.value for i in self.identifiers if i.type == type_code), None)


class EnhancedRightsReason(StrEnum):
    """Why a victim is entitled to enhanced rights under the Victims' Code."""

    SERIOUS_CRIME = "serious_crime"
    PERSISTENTLY_TARGETED = "persistently_targeted"
    VULNERABLE_OR_INTIMIDATED = "vulnerable_or_intimidated"
    UNDER_18 = "under_18"
    BEREAVED_RELATIVE = "bereaved_relative"


class ContactChannel(StrEnum):
    """Ways a victim may be contacted."""

    EMAIL = "email"
    PHONE = "phone"
    TEXT = "text"
    LETTER = "letter"
    IN_PERSON = "in_person"


class VictimNeeds(Record):
    """What a victim needs to understand and be understood (Victims' Code right 1)."""

    language: str = "en"
    interpreter: bool = False
    accessibility: list[str] = Field(default_factory=list)
    disability: str | None = None


class ContactPreferences(Record):
    """How and when it is safe to contact a victim."""

    channels: list[ContactChannel] = Field(default_factory=list)
    safe_times: str | None = Field(default=None, description="e.g. 'weekdays 9am to 12pm'")
    do_not_leave_messages: bool = False


class Victim(Record):
    """A victim of crime: the person, their needs, and their Victims' Code entitlement."""

    person: Person
    enhanced_rights: list[EnhancedRightsReason] = Field(default_factory=list)
    needs: VictimNeeds = Field(default_factory=VictimNeeds)
    contact: ContactPreferences = Field(default_factory=ContactPreferences)

    @property
    def is_enhanced(self) -> bool:
        """Whether the victim is entitled to enhanced rights."""
        return bool(self.enhanced_rights)


class RecordSubmission(Record):
    """One agency record about a person, as an agency system sends it to OneStory.

    ``person`` is the common model's person; ``record`` is what the agency holds about them
    (a case, a custody episode, an order...), kept as sent; ``kind`` says which (the bulk
    layouts' kinds such as ``police.suspect`` or ``prison.custody``, or ``person`` alone).
    """

    kind: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=40)
    person: Person
    record: dict[str, Any] = Field(default_factory=dict)
    case_urn: CaseURN | None = Field(default=None, description="The case the record is about")
