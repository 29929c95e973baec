"""Shared model configuration and small value types used across the common model."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Record(BaseModel):
    """Base for every record in the common model.

    Records are immutable, reject unknown fields (a misspelt field is an error, not silently
    dropped data), and speak camelCase JSON as agencies' systems (and HMPPS's events) do, while
    Python code uses snake_case.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        str_strip_whitespace=True,
    )


class AgencyKind(StrEnum):
    """The kinds of organisation that take part in OneStory (``Organisation.kind``)."""

    POLICE = "police"
    CPS = "cps"
    COURT = "court"
    WITNESS_CARE = "witness_care"
    PRISON = "prison"
    PROBATION = "probation"
    VICTIM_SUPPORT = "victim_support"
    COMPENSATION = "compensation"
    EDUCATION = "education"
    EMPLOYER = "employer"
    # A firm of solicitors or a barrister's chambers acting for a defendant.
    DEFENCE = "defence"
