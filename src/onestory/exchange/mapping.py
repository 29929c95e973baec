"""Agencies' extracts in their own layouts, read as rows and mapped to the common model.

A layout is data (``exchange/layouts/*.yaml``): which file format, how to find one row (a CSV
line, a JSON array element or a nested defendant, a JSON Lines line), and which column or path
fills which common-model field with which conversion. This module is pure: it reads files and
returns records or problems, and never touches the database (``exchange.ingest`` does that).
It is the front door: the work is in ``layout`` (the YAML files, checked), ``readers`` (files
as rows), ``conversions`` (one field), ``record_builders`` (the agency's record) and
``row_in_progress`` (a row's problems), and the shapes it returns are in ``rows``.

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
- ``iter_mapped(layout, path) -> Iterator[Mapped | Rejected]``: both of the above, row by row.

How a layout reads. Each field names its ``source`` (a CSV column; in JSON a dotted path, which
for a row nested in a case starts ``case.`` to read the case), a conversion from CONVERSIONS
("identifier:PNC" passes the type code) and whether it is ``required``. A conversion returns
the value in canonical form or raises ``Bad`` with the problem and the fix, so one pass over
the fields finds every problem in the row. A named record builder (RECORDS) then puts the
values into the domain models, whose own errors become problems too.

Which variants are faults. Spellings that real extracts use are accepted and made canonical
(short or slash-less PNC IDs, ASNs in display form, postcodes in any case and spacing, D/M/YYYY,
odd spacing in names, names typed without their space); a value that is really wrong (an
identifier failing its check, a date that does not exist, a code outside its list, a blank
required value, bytes that are not UTF-8, a row split by an unquoted comma) rejects the row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ijson

from onestory.exchange.conversions import CONVERSIONS, Bad, FieldSpec, quote
from onestory.exchange.layout import Holder, Layout, layouts_for, load_layouts, read_layout
from onestory.exchange.readers import (
    BOM,
    LineFeed,
    header_mismatch,
    item_prefix,
    read_header,
    read_rows,
)
from onestory.exchange.record_builders import RECORDS
from onestory.exchange.row_in_progress import RowInProgress, dig
from onestory.exchange.rows import (
    Mapped,
    MappingError,
    PersonColumns,
    Problem,
    Rejected,
    SourceRow,
    canonical_json,
)

__all__ = [
    "CONVERSIONS",
    "RECORDS",
    "Bad",
    "FieldSpec",
    "Holder",
    "Layout",
    "Mapped",
    "MappingError",
    "PersonColumns",
    "Problem",
    "Rejected",
    "SourceRow",
    "detect_layout",
    "iter_mapped",
    "layouts_for",
    "load_layouts",
    "map_row",
    "read_layout",
    "read_rows",
    "record_id",
]

_PERSON_IDS = {
    "pnc_id": "PNC",
    "cro_number": "CRO",
    "prison_number": "NOMS",
    "probation_crn": "CRN",
    "uln": "ULN",
    "ni_number": "NINO",
}


def record_id(layout: Layout, row_fields: dict[str, Any]) -> str:
    """SHA-256 hex over the layout's name and the row's canonical JSON."""
    return hashlib.sha256((layout.name + canonical_json(row_fields)).encode("utf-8")).hexdigest()


# --- Which layout a file is in -------------------------------------------------------------


def detect_layout(agency: str, path: Path) -> Layout:
    """Which of the agency kind's layouts the file is in, by its CSV header or JSON shape."""
    candidates = layouts_for(agency)
    if not candidates:
        kinds = sorted({layout.agency_kind for layout in load_layouts().values()})
        raise MappingError(f"no layouts for agency kind {agency!r}; there are for {kinds}")
    first = _first_byte(path)
    if first in (b"[", b"{"):
        for layout in candidates:
            if layout.format != "csv" and _json_matches(layout, path, first):
                return layout
    else:
        with path.open("rb") as handle:
            header = read_header(handle, path)
        wanted = {name.casefold() for name in header}
        for layout in candidates:
            if layout.format == "csv" and {c.casefold() for c in layout.columns} == wanted:
                return layout
        raise MappingError(header_mismatch(path, candidates, header))
    raise MappingError(header_mismatch(path, candidates, None))


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        start = handle.read(4096).removeprefix(BOM).lstrip()
    return start[:1]


def _json_matches(layout: Layout, path: Path, first: bytes) -> bool:
    keys = set(layout.keys)
    with path.open("rb") as handle:
        if layout.format == "json-lines":
            line = next((data for data in handle if data.strip()), b"")
            try:
                obj = json.loads(line)
            except ValueError:
                return False
            return isinstance(obj, dict) and keys <= set(obj)
        if (first == b"[") != (layout.array == ""):
            return False
        try:
            feed = LineFeed(handle)
            item = next(ijson.items(feed, item_prefix(layout), use_float=True), None)
            if item is None:  # an empty array has no case to look at: its place is enough
                handle.seek(0)
                return any(
                    prefix == layout.array and event == "start_array"
                    for prefix, event, _value in ijson.parse(LineFeed(handle))
                )
        except ijson.JSONError:
            return False
    return isinstance(item, dict) and keys <= set(item)


def _convert(
    specs: tuple[FieldSpec, ...],
    get: Callable[[FieldSpec], Any],
    where: Callable[[FieldSpec], str],
    row: RowInProgress,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        value = get(spec)
        if (not value or value.isspace()) if value.__class__ is str else value in (None, []):
            if spec.required:
                here = where(spec)
                row.bad(
                    here,
                    f"{here} is blank, but the {spec.name.replace('_', ' ')} is required",
                    f"fill in {here} from the source record",
                )
            out[spec.name] = [] if spec.each is not None else None
        elif spec.each is not None:
            out[spec.name] = _convert_each(spec, value, where(spec), row)
        else:
            try:
                out[spec.name] = spec.function(value, spec)  # type: ignore[misc]
            except Bad as bad:
                row.bad(where(spec), bad.problem, bad.fix)
                out[spec.name] = None
    return out


def _convert_each(
    spec: FieldSpec, value: Any, here: str, row: RowInProgress
) -> list[dict[str, Any]]:
    assert spec.each is not None
    if not isinstance(value, list):
        problem = f"{here} should be a list, not {quote(value)}"
        row.bad(here, problem, "give the items as a list")
        return []
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            row.bad(f"{here}/{i}", f"{here}/{i} should be an object", "give each item as an object")
            continue
        items.append(
            _convert(
                spec.each,
                lambda sub, item=item: dig(item, sub.path),  # type: ignore[misc]
                lambda sub, i=i: f"{here}/{i}/" + "/".join(sub.path),  # type: ignore[misc]
                row,
            )
        )
    return items


def map_row(layout: Layout, row: SourceRow) -> Mapped | Rejected:
    """The row as a common-model record, or every problem found in it."""
    if row.fields is None:
        problem, sep, fix = (row.decode_problem or "the row could not be read").rpartition("; ")
        if not sep:
            problem, fix = fix, "correct the row and send it again"
        return Rejected(row, [Problem(None, problem, fix)])
    state = RowInProgress(layout, row, row.fields)
    values = _convert(layout.fields, state.getter(), state.where, state)
    if state.problems:
        return Rejected(row, state.problems)
    record = RECORDS[layout.record](values, state)
    holder = _holder(layout, values)
    person, columns = _person(values, holder, state)
    if state.problems or record is None or person is None:
        return Rejected(row, state.problems)
    return Mapped(
        row=row,
        id=record_id(layout, row.fields),
        agency=holder,
        kind=layout.kind,
        body={"person": person, "record": record},
        person=columns,
    )


def iter_mapped(layout: Layout, path: Path) -> Iterator[Mapped | Rejected]:
    """Every row of the file, mapped or rejected, in file order."""
    for row in read_rows(layout, path):
        yield map_row(layout, row)


def _holder(layout: Layout, values: dict[str, Any]) -> str:
    holder = layout.holder
    value = values.get(holder.field)
    if value is None:
        return layout.agency_kind
    if holder.values is not None:
        found = holder.values.get(str(value).casefold())
        return found if found is not None else layout.agency_kind
    return holder.format.format(value)


def _person(
    v: dict[str, Any], holder: str, row: RowInProgress
) -> tuple[dict[str, Any] | None, PersonColumns]:
    """The person as ``Person`` JSON, written directly rather than through the model.

    Every value in it has already passed the check the model would make (the identifiers'
    parsers, real dates, M/F/U, non-empty names, five address lines at most) and is in its
    canonical form, so validating again would only repeat the work: at a million rows that is
    most of the time. tests/exchange/test_mapping_worlds.py checks that ``Person`` gives back
    exactly this JSON for every row of a synthetic world.
    """
    if "name" in v:
        given, surname = v["name"]
    else:
        given = [*v.get("forenames", []), *(v.get("middle_names") or [])]
        surname = v["surname"]
    dob: date | None = v.get("date_of_birth")
    address = v.get("address")
    code = v.get("postcode")
    sex_code = v.get("sex") or "U"
    person = {
        "names": [{"forenames": given, "surname": surname, "kind": "current"}],
        "datesOfBirth": [dob.isoformat()] if dob else [],
        "sex": sex_code,
        "addresses": [
            {
                "lines": address["lines"] if address else [],
                "town": address["town"] if address else None,
                "postcode": code,
                "validFrom": None,
                "validTo": None,
            }
        ]
        if address or code
        else [],
        "identifiers": [
            {"type": type_code, "value": v[name], "heldBy": holder}
            for name, type_code in _PERSON_IDS.items()
            if v.get(name)
        ],
    }
    columns = PersonColumns(
        forenames=" ".join(given),
        surname=surname,
        date_of_birth=dob,
        sex=sex_code,
        postcode=code,
        pnc_id=v.get("pnc_id"),
        cro_number=v.get("cro_number"),
        prison_number=v.get("prison_number"),
        probation_crn=v.get("probation_crn"),
        uln=v.get("uln"),
        ni_number=v.get("ni_number"),
        case_urn=v.get("case_urn"),
    )
    return person, columns
