"""What mapping an agency's row gives: the row as read, its problems, the record it becomes.

These are the shapes ``exchange.mapping`` promises its callers (the bulk ingest, the linkage
benchmark); the modules that do the work import them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any


class MappingError(ValueError):
    """A layout or file that cannot be read at all (not one bad row: that is a ``Rejected``)."""


@dataclass(frozen=True)
class SourceRow:
    """One row of an extract, before mapping."""

    line: int  # the 1-based line of the file where the row starts
    record_key: str  # as synth's ground_truth.csv writes it: CSV row number, JSON pointer...
    raw: str  # the row as text, kept whole in quarantine
    fields: dict[str, Any] | None  # column -> value, or the JSON object; None if undecodable
    decode_problem: str | None = None


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of a row, and how to put it right."""

    field: str | None
    problem: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        """The problem as stored in quarantine."""
        return {"field": self.field, "problem": self.problem, "fix": self.fix}


@dataclass(frozen=True)
class PersonColumns:
    """The person in a record, flattened and canonical: ``AgencyRecord``'s linkage columns."""

    forenames: str | None = None
    surname: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    postcode: str | None = None
    pnc_id: str | None = None
    cro_number: str | None = None
    prison_number: str | None = None
    probation_crn: str | None = None
    uln: str | None = None
    ni_number: str | None = None
    case_urn: str | None = None


@dataclass(frozen=True)
class Mapped:
    """A row turned into a common-model record."""

    row: SourceRow
    id: str  # record_id(layout, row.fields)
    agency: str  # the organisation code that holds it where the row says (POL04), else the kind
    kind: str  # e.g. "police.suspect", "police.victim", "cps.defendant", "prison.custody"
    body: dict[str, Any]  # {"person": Person JSON, "record": the agency record's JSON}
    person: PersonColumns = field(default_factory=PersonColumns)


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be accepted, with every problem found in it."""

    row: SourceRow
    problems: list[Problem]


# One encoder made once: json.dumps with options builds a new one on every call.
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
