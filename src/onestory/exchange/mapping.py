"""Agencies' extracts in their own layouts, read as rows and mapped to the common model.

A layout is data (``exchange/layouts/*.yaml``): which file format, how to find one row (a CSV
line, a JSON array element or a nested defendant, a JSON Lines line), and which column or path
fills which common-model field with which conversion. This module is pure: it reads files and
returns records or problems, and never touches the database (``exchange.ingest`` does that).

CONTRACT (laid down before the work was shared out; keep these names and shapes):

- ``load_layouts() -> dict[str, Layout]``: every layout shipped, by name.
- ``layouts_for(agency: str) -> list[Layout]``: the layouts of one agency kind ("police"...).
- ``detect_layout(agency: str, path: Path) -> Layout``: which of the agency's layouts a file is
  in (by CSV header or JSON shape); ``MappingError`` saying what was expected otherwise.
- ``read_rows(layout, path) -> Iterator[SourceRow]``: streams the file in constant memory; a row
  that cannot even be decoded (wrong encoding, broken JSON) is yielded with ``fields=None`` and
  ``decode_problem`` set, never raised, so the caller can quarantine it and go on.
- ``map_row(layout, row) -> Mapped | Rejected``: the common-model record, or every problem
  found in the row (not only the first), each naming the field, the problem and how to fix it.
- ``record_id(layout, row_fields) -> str``: SHA-256 hex over the layout name and the row's
  canonical JSON; the same row always gets the same id.
"""

from __future__ import annotations

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
