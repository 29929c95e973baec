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

Rows and lines. A CSV row's key is its data row number and ``line`` its first line; a JSON
Lines row is its line. In a JSON array ijson is fed one line at a time, so each case is known
to end on the line just read: it starts there when it shares that line (one case per line, as
synth and most exporters write), else on the line after the previous case ended. Every row of
one case (each defendant) carries that case's line. A JSON array that breaks off cannot be read
past the break: its last row says so, and the rows before it stand.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import ijson
from pydantic import BaseModel, TypeAdapter, ValidationError

from onestory.domain.base import AgencyKind
from onestory.domain.cases import (
    Hearing,
    Offence,
    OffenceOutcome,
    PoliceCase,
    ProsecutionCase,
    Sentence,
)
from onestory.domain.custody import CustodyEpisode, ProbationCase
from onestory.domain.identifiers import IDENTIFIER_TYPES, IdentifierError, parse_identifier
from onestory.domain.learning import LearningRecord
from onestory.domain.people import ContactPreferences, VictimNeeds
from onestory.yamlfiles import read_mapping


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


# --- Layouts -------------------------------------------------------------------------------

FORMATS = ("csv", "json-array", "json-lines")
_LAYOUT_KEYS = frozenset(
    {"name", "agency_kind", "kind", "file_name", "format", "columns", "array", "keys", "rows",
     "row_name", "holder", "record", "fields"}
)  # fmt: skip
_FIELD_KEYS = frozenset({"source", "convert", "required", "values", "each"})


@dataclass(frozen=True)
class FieldSpec:
    """Which column or path fills one common-model field, through which named conversion."""

    name: str
    source: str  # a CSV column, or a dotted path in the JSON object ("case." for the case)
    path: tuple[str, ...]
    convert: str | None  # a key of CONVERSIONS; None with ``each``
    arg: str | None = None  # what follows the colon in "identifier:PNC"
    required: bool = False
    values: dict[str, str] | None = None  # for lookups, keys casefolded
    each: tuple[FieldSpec, ...] | None = None  # a list of objects, each mapped by these
    function: Conversion | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Holder:
    """Which mapped field names the organisation holding a row, and how it becomes a code."""

    field: str
    format: str = "{}"
    values: dict[str, str] | None = None  # for names that are not codes, keys casefolded


@dataclass(frozen=True)
class Layout:
    """One agency extract layout, as its YAML file describes it."""

    name: str
    agency_kind: str
    kind: str
    file_name: str
    format: str
    fields: tuple[FieldSpec, ...]
    holder: Holder
    record: str  # a key of RECORDS
    columns: tuple[str, ...] = ()  # csv: the header
    array: str | None = None  # json-array: the key holding the array ("" if top level)
    keys: tuple[str, ...] = ()  # json: keys every case (or line) has
    rows: str | None = None  # json-array: the key of each case holding its rows
    row_name: str = "row"  # json-array: what the row is called in SourceRow.fields
    source: Path | None = None


LAYOUTS_DIR = files("onestory.exchange").joinpath("layouts")


def load_layouts() -> dict[str, Layout]:
    """Every layout shipped, by name."""
    return dict(_load_layouts())


@cache
def _load_layouts() -> tuple[tuple[str, Layout], ...]:
    found: dict[str, Layout] = {}
    for entry in sorted(LAYOUTS_DIR.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        layout = read_layout(Path(str(entry)))
        if layout.name in found:
            raise MappingError(f"{entry}: layout {layout.name!r} is defined twice")
        found[layout.name] = layout
    return tuple(found.items())


def layouts_for(agency: str) -> list[Layout]:
    """The layouts of one agency kind ("police", "cps"...)."""
    return [layout for layout in load_layouts().values() if layout.agency_kind == agency]


def read_layout(path: Path) -> Layout:
    """One layout file, checked: every error names the file and what is wrong."""
    data, _root = read_mapping(path, MappingError, "a layout")

    def fail(message: str) -> MappingError:
        return MappingError(f"{path}: {message}")

    unknown = set(data) - _LAYOUT_KEYS
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}; a layout has {sorted(_LAYOUT_KEYS)}")
    for key in ("name", "agency_kind", "kind", "format", "holder", "record", "fields"):
        if key not in data:
            raise fail(f"{key} is missing")
    if data["format"] not in FORMATS:
        raise fail(f"format {data['format']!r} should be one of {', '.join(FORMATS)}")
    if data["agency_kind"] not in set(AgencyKind):
        raise fail(f"agency_kind {data['agency_kind']!r} is not an AgencyKind")
    if data["record"] not in RECORDS:
        raise fail(f"record {data['record']!r} should be one of {', '.join(RECORDS)}")
    if data["format"] == "csv" and not data.get("columns"):
        raise fail("a csv layout needs its columns (the header)")
    if data["format"] == "json-array" and data.get("array") is None:
        raise fail('a json-array layout says where its array is (array: "" for the top level)')
    if not isinstance(data["fields"], dict):
        raise fail("fields must be a mapping of common-model field to its source")
    fields = tuple(_field_spec(name, spec, fail) for name, spec in data["fields"].items())
    lacking = _lacking(fields, RECORD_NEEDS[data["record"]])
    if lacking:
        raise fail(f"record {data['record']} reads fields the layout lacks: {lacking}")
    holder = data["holder"]
    if not isinstance(holder, dict) or "field" not in holder:
        raise fail("holder needs the field naming the organisation")
    columns = tuple(data.get("columns") or ())
    if data["format"] == "csv":
        missing = {f.source for f in fields} - set(columns)
        if missing:
            raise fail(f"fields read columns not in the header: {sorted(missing)}")
    return Layout(
        name=data["name"],
        agency_kind=data["agency_kind"],
        kind=data["kind"],
        file_name=data.get("file_name", ""),
        format=data["format"],
        fields=fields,
        holder=Holder(
            field=holder["field"],
            format=holder.get("format", "{}"),
            values=_folded(holder.get("values")),
        ),
        record=data["record"],
        columns=columns,
        array=data.get("array"),
        keys=tuple(data.get("keys") or ()),
        rows=data.get("rows"),
        row_name=data.get("row_name") or (data.get("rows") or "row").removesuffix("s"),
        source=path,
    )


def _field_spec(name: str, spec: Any, fail: Callable[[str], MappingError]) -> FieldSpec:
    if not isinstance(spec, dict) or "source" not in spec:
        raise fail(f"field {name}: give at least its source")
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise fail(f"field {name}: unknown keys {sorted(unknown)}")
    each = None
    convert, _, arg = str(spec.get("convert", "")).partition(":")
    if "each" in spec:
        each = tuple(_field_spec(f"{name}.{k}", v, fail) for k, v in spec["each"].items())
    elif convert not in CONVERSIONS:
        raise fail(
            f"field {name}: conversion {convert!r} should be one of {', '.join(CONVERSIONS)}"
        )
    if convert == "identifier" and arg not in IDENTIFIER_TYPES:
        raise fail(
            f"field {name}: identifier type {arg!r} should be one of {list(IDENTIFIER_TYPES)}"
        )
    if convert in ("lookup", "lookup_each") and not spec.get("values"):
        raise fail(f"field {name}: a lookup needs its values")
    source = str(spec["source"])
    return FieldSpec(
        name=name.rpartition(".")[2],
        source=source,
        path=tuple(source.split(".")),
        convert=convert or None,
        arg=arg or None,
        required=bool(spec.get("required", False)),
        values=_folded(spec.get("values")),
        each=each,
        function=CONVERSIONS.get(convert),
    )


def _lacking(fields: tuple[FieldSpec, ...], needs: tuple[str, ...]) -> list[str]:
    given = {f.name: f for f in fields}
    names = {"forenames", "surname"} <= set(given) or "name" in given
    lacking = [] if names else ["name (or forenames and surname)"]
    for need in needs:
        top, _, inner = need.partition(".")
        spec = given.get(top)
        if spec is None or (inner and inner not in {s.name for s in spec.each or ()}):
            lacking.append(need)
    return lacking


def _folded(values: dict[Any, Any] | None) -> dict[str, str] | None:
    if values is None:
        return None
    return {str(k).casefold(): str(v) for k, v in values.items()}


# --- Conversions: named functions the layouts refer to ---------------------------------------


class Bad(Exception):
    """Raised by a conversion: what is wrong with the value and how to put it right."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


Conversion = Callable[[Any, FieldSpec], Any]
_LONDON = ZoneInfo("Europe/London")
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Bad(f"{_quote(value)} should be text", "give the value as text")
    return str(value)


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def text(value: Any, spec: FieldSpec) -> str:
    """Text with its spaces trimmed and runs of spaces made one."""
    return " ".join(_text_of(value).split())


def code(value: Any, spec: FieldSpec) -> str:
    """An organisation or reference code: no spaces inside, capitals."""
    cleaned = _text_of(value).strip().upper()
    if not cleaned or any(c.isspace() for c in cleaned):
        raise Bad(f"{_quote(value)} is not a code", "give the code without spaces, e.g. MDI")
    return cleaned


# The longest names the record store keeps (agency_record.surname and .forenames).
SURNAME_MAX = 100
FORENAMES_MAX = 200


def _not_too_long(shown: str, written: str, most: int, what: str) -> str:
    """``written`` if it fits; ``shown`` is how the message quotes it."""
    if len(written) > most:
        raise Bad(
            f"{shown} is {len(written)} characters long, more than a {what} can be",
            f"give the {what} alone, at most {most} characters",
        )
    return written


def name(value: Any, spec: FieldSpec) -> str:
    """A surname as written (linkage normalises case and punctuation)."""
    return _not_too_long(_quote(value), text(value, spec), SURNAME_MAX, "surname")


def forenames(value: Any, spec: FieldSpec) -> list[str]:
    """Forenames, from one text ("Ann Marie") or a list of them."""
    items = value if isinstance(value, list) else [value]
    names = [part for item in items for part in text(item, spec).split(" ") if part]
    _not_too_long(_quote(value), " ".join(names), FORENAMES_MAX, "list of forenames")
    return names


def texts(value: Any, spec: FieldSpec) -> list[str]:
    """A list of texts."""
    if not isinstance(value, list):
        raise Bad(f"{_quote(value)} should be a list", "give the values as a JSON list")
    return [text(item, spec) for item in value]


def name_surname_comma_forenames(value: Any, spec: FieldSpec) -> tuple[list[str], str]:
    """``SURNAME, Forename Middle`` as (forenames, surname)."""
    written = text(value, spec)
    surname, comma, given = written.partition(",")
    if not comma:
        raise Bad(
            f"{_quote(value)} has no comma between the surname and the forenames",
            "write the name as SURNAME, Forenames",
        )
    names = forenames(given, spec)
    if not surname.strip() or not names:
        part = "surname" if not surname.strip() else "forenames"
        raise Bad(f"{_quote(value)} has no {part}", "write the name as SURNAME, Forenames")
    surname = surname.strip()
    return names, _not_too_long(f"the surname '{surname}'", surname, SURNAME_MAX, "surname")


def name_forenames_surname(value: Any, spec: FieldSpec) -> tuple[list[str], str]:
    """``Forename Middle Surname`` as (forenames, surname): the last word is the surname.

    A name typed without its space (``AdamWalker``) is split before its last capital that
    follows a lower-case letter, which is where the surname starts in such slips.
    """
    words = text(value, spec).split(" ")
    if len(words) == 1:
        word = words[0]
        cut = max((i for i in range(1, len(word)) if word[i - 1].islower() and word[i].isupper()),
                  default=0)  # fmt: skip
        words = [word[:cut], word[cut:]] if cut else words
    if len(words) < 2:
        raise Bad(
            f"{_quote(value)} is one word, but forenames and a surname are needed",
            "write the name as Forenames Surname",
        )
    _not_too_long(_quote(value), " ".join(words[:-1]), FORENAMES_MAX, "list of forenames")
    return words[:-1], _not_too_long(_quote(value), words[-1], SURNAME_MAX, "surname")


def _real_date(value: Any, year: int, month: int, day: int, how: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            detail = f"there is no month {month}"
        else:
            days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
            detail = f"{_MONTHS[month - 1]} {year} has {days} days"
        raise Bad(
            f"{_quote(value)} is not a real date: {detail}", f"give the date as {how}"
        ) from None


def _date(value: Any, how: str) -> date:
    written = _text_of(value).strip()
    # Fast paths for the two spellings nearly every row has; anything else takes the long way.
    if len(written) == 10 and written.isascii():
        try:
            if written[2] == "/" and written[5] == "/":
                return date(int(written[6:]), int(written[3:5]), int(written[:2]))
            if written[4] == "-" and written[7] == "-":
                return date(int(written[:4]), int(written[5:7]), int(written[8:]))
        except ValueError:
            pass
    if match := _DMY.fullmatch(written):
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO.fullmatch(written):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise Bad(f"{_quote(value)} is not a date", f"give the date as {how}")
    return _real_date(value, year, month, day, how)


def date_dmy(value: Any, spec: FieldSpec) -> date:
    """A date written DD/MM/YYYY (D/M/YYYY and the ISO form are read too)."""
    return _date(value, "DD/MM/YYYY")


def date_iso(value: Any, spec: FieldSpec) -> date:
    """A date written YYYY-MM-DD (DD/MM/YYYY is read too: slashes always mean day first)."""
    return _date(value, "YYYY-MM-DD")


def datetime_iso(value: Any, spec: FieldSpec) -> datetime:
    """A moment in ISO 8601 with its UTC offset; a date alone is midnight in the UK."""
    written = _text_of(value).strip()
    if _ISO.fullmatch(written):
        return _midnight(date_iso(written, spec))
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise Bad(
            f"{_quote(value)} is not a date and time",
            "give it as YYYY-MM-DDTHH:MM:SS+01:00 (ISO 8601 with the offset)",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_LONDON)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=_LONDON)


@lru_cache(maxsize=1 << 14)
def _canonical_identifier(type_code: str, written: str) -> str:
    # The same person's PNC ID or prison number comes back row after row: parse it once.
    return str(parse_identifier(type_code, written))


def identifier(value: Any, spec: FieldSpec) -> str:
    """An identifier of the type after the colon (identifier:PNC), in its canonical form."""
    assert spec.arg is not None
    try:
        return _canonical_identifier(spec.arg, _text_of(value))
    except IdentifierError as error:
        kind = IDENTIFIER_TYPES[spec.arg]
        if error.part == "format":
            fix = f"give the {kind.KIND} as the source system holds it ({error.detail})"
        else:
            fix = (
                f"check the {error.part} of the {kind.KIND} against the source system and "
                "correct it, or leave it blank if it cannot be confirmed"
            )
        raise Bad(str(error), fix) from None


_SEXES = {
    "m": "M", "male": "M", "man": "M", "1": "M",
    "f": "F", "female": "F", "woman": "F", "2": "F",
    "u": "U", "unknown": "U", "not known": "U", "not specified": "U", "0": "U", "9": "U",
    "x": "U", "n": "U", "not stated": "U",
}  # fmt: skip


def sex(value: Any, spec: FieldSpec) -> str:
    """Sex as M, F or U, from the codes and words extracts use."""
    found = _SEXES.get(text(value, spec).casefold())
    if found is None:
        raise Bad(f"{_quote(value)} is not a sex code", "give M, F or U (Male, Female, Unknown)")
    return found


def postcode(value: Any, spec: FieldSpec) -> str:
    """A UK postcode, capitals with one space before the last three characters."""
    squeezed = "".join(_text_of(value).split()).upper()
    if not _POSTCODE.fullmatch(squeezed):
        raise Bad(f"{_quote(value)} is not a UK postcode", "give a full postcode, e.g. SW1A 1AA")
    return f"{squeezed[:-3]} {squeezed[-3:]}"


_YES = {"y": True, "yes": True, "true": True, "1": True, "n": False, "no": False, "false": False,
        "0": False}  # fmt: skip


def yes_no(value: Any, spec: FieldSpec) -> bool:
    """Y or N (also Yes/No, true/false, 1/0)."""
    if isinstance(value, bool):
        return value
    found = _YES.get(text(value, spec).casefold())
    if found is None:
        raise Bad(f"{_quote(value)} is neither yes nor no", "give Y or N")
    return found


def split_semicolon(value: Any, spec: FieldSpec) -> list[str]:
    """Values separated by semicolons; blanks between them are dropped."""
    return [part for part in (text(p, spec) for p in _text_of(value).split(";")) if part]


def address_lines(value: Any, spec: FieldSpec) -> dict[str, Any]:
    """An address in one comma-separated text; the last part is the town."""
    parts = [p for p in (text(p, spec) for p in _text_of(value).split(",")) if p]
    if len(parts) < 2:
        return {"lines": parts, "town": None}
    lines, town = parts[:-1], parts[-1]
    if len(lines) > 5:  # the common model holds five lines; the rest stay, joined to the fifth
        lines = [*lines[:4], ", ".join(lines[4:])]
    return {"lines": lines, "town": town}


def address_fields(value: Any, spec: FieldSpec) -> dict[str, Any]:
    """Common Platform's address1 … address5 as address lines (the postcode is read apart)."""
    if not isinstance(value, dict):
        raise Bad(f"{_quote(value)} should be an address object", "give address1 … address5")
    lines = [text(value[k], spec) for k in ("address1", "address2", "address3", "address4",
             "address5") if value.get(k)]  # fmt: skip
    return {"lines": [line for line in lines if line], "town": None}


def lookup(value: Any, spec: FieldSpec) -> str:
    """One of the layout's values (matched whatever the capitals and extra spaces)."""
    assert spec.values is not None
    found = spec.values.get(text(value, spec).casefold())
    if found is None:
        known = ", ".join(sorted({k for k in spec.values}))
        raise Bad(f"{_quote(value)} is not a known value", f"give one of: {known}")
    return found


def lookup_each(value: Any, spec: FieldSpec) -> list[str]:
    """Semicolon-separated values, each one of the layout's values; duplicates once."""
    items = value if isinstance(value, list) else split_semicolon(value, spec)
    return list(dict.fromkeys(lookup(item, spec) for item in items))


def force_code(value: Any, spec: FieldSpec) -> str:
    """A police force code: two digits ("4" is read as "04")."""
    written = _text_of(value).strip()
    if not (written.isascii() and written.isdigit() and len(written) <= 2):
        raise Bad(f"{_quote(value)} is not a police force code", "give the two-digit force code")
    return written.zfill(2)


def whole_number(value: Any, spec: FieldSpec) -> int:
    """A whole number, zero or more."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    written = _text_of(value).strip()
    if not (written.isascii() and written.isdigit()):
        raise Bad(f"{_quote(value)} is not a whole number", "give a whole number, e.g. 12")
    return int(written)


CONVERSIONS: dict[str, Conversion] = {
    f.__name__: f
    for f in (text, code, name, forenames, texts, name_surname_comma_forenames,
              name_forenames_surname, date_dmy, date_iso, datetime_iso, identifier, sex,
              postcode, yes_no, split_semicolon, address_lines, address_fields, lookup,
              lookup_each, force_code, whole_number)
}  # fmt: skip


# --- Reading files as rows, in constant memory -----------------------------------------------

_REEXPORT = "re-export the file as UTF-8"
_BOM = b"\xef\xbb\xbf"  # some exporters start UTF-8 files with it


def _not_utf8(line_number: int, data: bytes, error: UnicodeDecodeError) -> str:
    column = len(data[: error.start].decode("utf-8", errors="replace")) + 1
    return (
        f"line {line_number} is not UTF-8 (byte 0x{data[error.start]:02X} at column {column}); "
        f"{_REEXPORT}"
    )


def _decode(data: bytes) -> str:
    """Bytes as text for quarantine: undecodable bytes kept visible as \\xNN."""
    return data.decode("utf-8", errors="backslashreplace")


class _Lines:
    """A binary file's lines as text for ``csv``, noting where each row starts and any line
    that is not UTF-8, so one badly encoded row is quarantined and the rest still read."""

    def __init__(self, handle: IO[bytes], line: int) -> None:
        self._handle = handle
        self.line = line  # the last line read
        self.raw: list[str] = []
        self.problem: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self._handle.readline()
        if not data:
            raise StopIteration
        self.line += 1
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError as error:
            decoded = _decode(data)
            self.problem = self.problem or _not_utf8(self.line, data, error)
        self.raw.append(decoded)
        return decoded

    def take(self) -> tuple[str, str | None]:
        """The text of the lines read since the last call, and any decoding problem in them."""
        raw, problem = "".join(self.raw).rstrip("\r\n"), self.problem
        self.raw, self.problem = [], None
        return raw, problem


def _header(handle: IO[bytes], path: Path) -> list[str]:
    data = handle.readline()
    try:
        line = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MappingError(f"{path.name}: {_not_utf8(1, data, error)}") from None
    return [name.strip() for name in next(csv.reader([line]), [])]


def read_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    """The file's rows, one at a time; undecodable rows come with ``decode_problem`` set."""
    if layout.format == "csv":
        return _csv_rows(layout, path)
    if layout.format == "json-lines":
        return _json_lines_rows(path)
    return _json_array_rows(layout, path)


def _csv_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        header = _header(handle, path)
        wanted = {c.casefold(): c for c in layout.columns}
        found = {name.casefold(): i for i, name in enumerate(header)}
        if set(found) != set(wanted):
            raise MappingError(_header_mismatch(path, [layout], header))
        positions = [(wanted[key], i) for key, i in found.items()]
        width = len(header)
        lines = _Lines(handle, 1)
        reader = csv.reader(lines)
        number = 0
        while True:
            start = lines.line + 1
            try:
                values = next(reader, None)
            except csv.Error as error:
                values = []
                lines.problem = lines.problem or (
                    f"line {start} is not valid CSV ({error})"
                    "; quote the values as CSV does and re-export"
                )
            raw, problem = lines.take()
            if values is None:
                return
            if not values and problem is None:
                continue  # a blank line is no row
            number += 1
            if problem is None and len(values) != width:
                problem = (
                    f"line {start} has {len(values)} values but the header has {width} columns"
                    '; quote every value that holds a comma ("SMITH, John") and re-export'
                )
            if problem is not None:
                yield SourceRow(start, str(number), raw, None, problem)
                continue
            fields = {column: values[i] for column, i in positions}
            yield SourceRow(start, str(number), raw, fields)


def _json_lines_rows(path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            data = line.removeprefix(_BOM) if number == 1 else line
            if not data.strip():
                continue
            raw = _decode(data).rstrip("\r\n")
            try:
                obj = json.loads(data.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield SourceRow(number, str(number), raw, None, _not_utf8(number, data, error))
                continue
            except json.JSONDecodeError as error:
                problem = (
                    f"line {number} is not valid JSON ({error.msg} at column {error.colno})"
                    "; write each record as one JSON object on its own line"
                )
                yield SourceRow(number, str(number), raw, None, problem)
                continue
            if not isinstance(obj, dict):
                problem = (
                    f"line {number} is a JSON {type(obj).__name__}, not an object"
                    "; write each record as one JSON object on its own line"
                )
                yield SourceRow(number, str(number), raw, None, problem)
                continue
            yield SourceRow(number, str(number), raw, obj)


class _LineFeed:
    """A binary file handed to ijson one line at a time, so the line being parsed is known.

    ijson (yajl2_c) yields every item completed by one read before it reads again, so when an
    item comes out it ended on ``self.line``. Where it started is worked out from where the one
    before ended (see ``_json_array_rows``).
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.line = 0  # the line the last read came from
        self._complete = True  # whether the last read ended its line
        self.last = b""
        self.opened = 0  # the first line holding "[": where the array (most likely) opens

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to learn whether the file is binary
            return b""
        data = self._handle.readline(size if size > 0 else -1)
        if self.line == 0:
            data = data.removeprefix(_BOM)
        if data:
            if self._complete:
                self.line += 1
                self.last = data
            else:  # a line longer than ijson's buffer: keep its tail for error messages
                self.last = (self.last + data)[-65536:]
            self._complete = data.endswith(b"\n")
            if not self.opened and b"[" in data:
                self.opened = self.line
        return data


def _item_prefix(layout: Layout) -> str:
    return f"{layout.array}.item" if layout.array else "item"


def _json_array_rows(layout: Layout, path: Path) -> Iterator[SourceRow]:
    base = f"/{layout.array}" if layout.array else ""
    with path.open("rb") as handle:
        feed = _LineFeed(handle)
        items = ijson.items(feed, _item_prefix(layout), use_float=True)
        index, ended = 0, 0
        while True:
            try:
                item = next(items, None)
            except ijson.JSONError as error:
                yield _broken_json(feed, f"{base}/{index}", error)
                return
            if item is None:
                return
            # One item per line (as synth and most exporters write): it starts where it ends;
            # an item spread over lines starts on the line after the one before ended.
            start = feed.line if feed.line == ended else (ended or feed.opened) + 1
            start = min(start, feed.line)
            ended = feed.line
            yield from _case_rows(layout, item, f"{base}/{index}", start)
            index += 1


def _broken_json(feed: _LineFeed, key: str, error: Exception) -> SourceRow:
    data = feed.last
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        problem = _not_utf8(feed.line, data, bad)
    else:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        problem = (
            f"the JSON breaks off at line {feed.line} ({detail}), so nothing after it can be "
            "read; repair or re-export the file from that line on"
        )
    return SourceRow(feed.line, key, _decode(data).rstrip("\r\n"), None, problem)


def _case_rows(layout: Layout, item: Any, key: str, line: int) -> Iterator[SourceRow]:
    compact = _canonical_json
    if not isinstance(item, dict):
        problem = f"{key} is a JSON {type(item).__name__}, not an object; send each case as one"
        yield SourceRow(line, key, compact(item), None, problem)
        return
    if layout.rows is None:
        yield SourceRow(line, key, compact(item), item)
        return
    rows = item.get(layout.rows)
    if not isinstance(rows, list):
        problem = f"{key} has no list of {layout.rows}; give each case its {layout.rows} as a list"
        yield SourceRow(line, key, compact(item), None, problem)
        return
    case = {k: v for k, v in item.items() if k != layout.rows}
    for j, row in enumerate(rows):
        fields = {"case": case, layout.row_name: row}
        yield SourceRow(line, f"{key}/{layout.rows}/{j}", compact(fields), fields)


# One encoder made once: json.dumps with options builds a new one on every call.
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def record_id(layout: Layout, row_fields: dict[str, Any]) -> str:
    """SHA-256 hex over the layout's name and the row's canonical JSON."""
    return hashlib.sha256((layout.name + _canonical_json(row_fields)).encode("utf-8")).hexdigest()


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
            header = _header(handle, path)
        wanted = {name.casefold() for name in header}
        for layout in candidates:
            if layout.format == "csv" and {c.casefold() for c in layout.columns} == wanted:
                return layout
        raise MappingError(_header_mismatch(path, candidates, header))
    raise MappingError(_header_mismatch(path, candidates, None))


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        start = handle.read(4096).removeprefix(_BOM).lstrip()
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
            feed = _LineFeed(handle)
            item = next(ijson.items(feed, _item_prefix(layout), use_float=True), None)
            if item is None:  # an empty array has no case to look at: its place is enough
                handle.seek(0)
                return any(
                    prefix == layout.array and event == "start_array"
                    for prefix, event, _value in ijson.parse(_LineFeed(handle))
                )
        except ijson.JSONError:
            return False
    return isinstance(item, dict) and keys <= set(item)


def _header_mismatch(path: Path, layouts: list[Layout], header: list[str] | None) -> str:
    expected = []
    for layout in layouts:
        if layout.format == "csv":
            expected.append(
                f"a CSV file with the header {','.join(layout.columns)} ({layout.name})"
            )
        elif layout.format == "json-lines":
            keys = ", ".join(layout.keys)
            expected.append(f"JSON Lines, each line an object with {keys} ({layout.name})")
        else:
            where = f'under "{layout.array}"' if layout.array else "at the top level"
            keys = ", ".join(layout.keys)
            expected.append(f"a JSON array {where} of objects with {keys} ({layout.name})")
    found = f"its header is {','.join(header)}" if header is not None else "its shape differs"
    return f"{path.name} is in none of the expected layouts ({found}); expected " + "; or ".join(
        expected
    )


# --- Mapping one row -------------------------------------------------------------------------

_PERSON_IDS = {
    "pnc_id": "PNC",
    "cro_number": "CRO",
    "prison_number": "NOMS",
    "probation_crn": "CRN",
    "uln": "ULN",
    "ni_number": "NINO",
}


@dataclass
class _Row:
    """One row being mapped: where its fields come from, and the problems found so far."""

    layout: Layout
    row: SourceRow
    fields: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    def source(self, name: str) -> str:
        """Where the field called ``name`` comes from, for messages."""
        spec = next((s for s in self.layout.fields if s.name == name), None)
        return self.where(spec) if spec is not None else name

    def getter(self) -> Callable[[FieldSpec], Any]:
        """How this row's fields are read: by column, or by path in the case or the row."""
        layout, fields = self.layout, self.fields
        if layout.format == "csv":
            return lambda spec: fields.get(spec.source)
        if layout.format == "json-array" and layout.rows is not None:
            case, own = fields.get("case"), fields.get(layout.row_name)
            return lambda spec: (
                _dig(case, spec.path[1:]) if spec.path[0] == "case" else _dig(own, spec.path)
            )
        return lambda spec: _dig(fields, spec.path)

    def where(self, spec: FieldSpec) -> str:
        layout = self.layout
        if layout.format == "csv":
            return spec.source
        path = spec.path
        if layout.format == "json-array" and layout.rows is not None:
            if path[0] == "case":
                case_key = self.row.record_key.rsplit("/", 2)[0]
                return case_key + "/" + "/".join(path[1:])
            return self.row.record_key + "/" + "/".join(path)
        if layout.format == "json-array":
            return self.row.record_key + "/" + "/".join(path)
        return "/" + "/".join(path)

    def bad(self, where: str | None, problem: str, fix: str) -> None:
        self.problems.append(Problem(where, problem, fix))

    def validated(
        self, model: type[BaseModel], data: dict[str, Any], name: str
    ) -> dict[str, Any] | None:
        """``data`` as ``model`` in JSON form, or None with its errors added as problems."""
        try:
            return model.model_validate(data).model_dump(mode="json")
        except ValidationError as error:
            self._problems_of(error, model.__name__, name)
            return None

    def validated_list(
        self, model: type[BaseModel], items: list[dict[str, Any]], name: str
    ) -> list[dict[str, Any]]:
        """Each of ``items`` as ``model`` in JSON form, validated in one call; [] on errors."""
        adapter = _list_adapter(model)
        try:
            dumped: list[dict[str, Any]] = adapter.dump_python(
                adapter.validate_python(items), mode="json"
            )
        except ValidationError as error:
            self._problems_of(error, model.__name__, name)
            return []
        return dumped

    def _problems_of(self, error: ValidationError, model: str, name: str) -> None:
        named = {spec.name for spec in self.layout.fields}
        for detail in error.errors(include_url=False):
            loc = ".".join(str(part) for part in detail["loc"])
            # The model's field, where the layout has one of that name; else the field given.
            first = next((str(p) for p in detail["loc"] if isinstance(p, str)), "")
            first = re.sub(r"(?<!^)(?=[A-Z])", "_", first).lower()
            where = self.source(first if first in named else name)
            got = _quote(detail["input"]) if "input" in detail else "nothing"
            self.bad(
                where,
                f"{model} {loc}: {detail['msg']} (got {got})",
                f"correct {where} so that it fits the common model",
            )


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _convert(
    specs: tuple[FieldSpec, ...],
    get: Callable[[FieldSpec], Any],
    where: Callable[[FieldSpec], str],
    row: _Row,
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


def _convert_each(spec: FieldSpec, value: Any, here: str, row: _Row) -> list[dict[str, Any]]:
    assert spec.each is not None
    if not isinstance(value, list):
        row.bad(here, f"{here} should be a list, not {_quote(value)}", "give the items as a list")
        return []
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            row.bad(f"{here}/{i}", f"{here}/{i} should be an object", "give each item as an object")
            continue
        items.append(
            _convert(
                spec.each,
                lambda sub, item=item: _dig(item, sub.path),  # type: ignore[misc]
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
    state = _Row(layout, row, row.fields)
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
    v: dict[str, Any], holder: str, row: _Row
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


# --- Records: the agency's part of each row, in the domain model where one fits --------------

RecordBuilder = Callable[[dict[str, Any], _Row], dict[str, Any] | None]
RECORDS: dict[str, RecordBuilder] = {}
RECORD_NEEDS: dict[str, tuple[str, ...]] = {}  # the fields each reads ("charges.code": in each)


def _record(*needs: str) -> Callable[[RecordBuilder], RecordBuilder]:
    """Register a record builder under its name, with the fields a layout must give it."""

    def register(builder: RecordBuilder) -> RecordBuilder:
        RECORDS[builder.__name__] = builder
        RECORD_NEEDS[builder.__name__] = needs
        return builder

    return register


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@_record(
    "offence_code",
    "offence_description",
    "offence_date",
    "case_urn",
    "force",
    "reported_on",
    "asn",
    "offence_group",
    "arrested_on",
    "outcome_code",
    "outcome",
)
def police_suspect(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A suspect in a police case: the case (PoliceCase) and what happened to this suspect."""
    offence = {
        "code": v["offence_code"],
        "description": v["offence_description"],
        "committed_from": v["offence_date"],
    }
    case = row.validated(
        PoliceCase,
        {
            "urn": v["case_urn"],
            "force": v["force"],
            "reported_at": _midnight(v["reported_on"]),
            "offences": [offence],
        },
        "case_urn",
    )
    return {
        "policeCase": case,
        "asn": v["asn"],
        "offenceGroup": v["offence_group"],
        "arrestedOn": _iso(v["arrested_on"]),
        "outcomeCode": v["outcome_code"],
        "outcome": v["outcome"],
    }


@_record(
    "language",
    "interpreter",
    "accessibility",
    "disability",
    "contact_channels",
    "safe_times",
    "do_not_leave_messages",
    "victim_id",
    "case_urn",
    "force",
    "title",
    "phone",
    "email",
    "enhanced_rights",
)
def police_victim(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A victim in a police case: their needs and contact wishes (VictimNeeds,
    ContactPreferences) and the Victims' Code grounds for enhanced rights."""
    needs = row.validated(
        VictimNeeds,
        {
            "language": v["language"] or "en",
            "interpreter": bool(v["interpreter"]),
            "accessibility": v["accessibility"] or [],
            "disability": v["disability"],
        },
        "language",
    )
    contact = row.validated(
        ContactPreferences,
        {
            "channels": v["contact_channels"] or [],
            "safe_times": v["safe_times"],
            "do_not_leave_messages": bool(v["do_not_leave_messages"]),
        },
        "contact_channels",
    )
    return {
        "victimId": v["victim_id"],
        "caseUrn": v["case_urn"],
        "force": v["force"],
        "title": v["title"],
        "phone": v["phone"],
        "email": v["email"],
        "enhancedRights": v["enhanced_rights"] or [],
        "needs": needs,
        "contact": contact,
    }


@_record(
    "charges.code",
    "charges.description",
    "charges.status",
    "asn",
    "case_urn",
    "cps_area",
    "reviewed_on",
    "status",
    "alterations.defendant_asn",
    "alterations.date",
    "alterations.type",
    "alterations.offence_code",
    "alterations.new_offence_code",
    "alterations.reason",
    "police_force",
    "charged_on",
)
def cps_defendant(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A defendant in a CPS case file: the prosecution (ProsecutionCase) with the charges it
    proceeds with against this defendant, and the alterations made to them."""
    charges = [
        {"offence": {"code": c["code"], "description": c["description"]}, "asn": v["asn"]}
        for c in v["charges"]
        if c["status"] != "dropped"
    ]
    case = row.validated(
        ProsecutionCase,
        {
            "urn": v["case_urn"],
            "cps_area": v["cps_area"],
            "reviewed_at": _midnight(v["reviewed_on"]),
            "status": v["status"] or "active",
            "charges": charges,
        },
        "case_urn",
    )
    mine = [a for a in v["alterations"] if v["asn"] is None or a["defendant_asn"] == v["asn"]]
    return {
        "prosecutionCase": case,
        "policeForce": v["police_force"],
        "asn": v["asn"],
        "chargedOn": _iso(v["charged_on"]),
        "chargeStatus": [{"offenceCode": c["code"], "status": c["status"]} for c in v["charges"]],
        "alterations": [
            {
                "date": _iso(a["date"]),
                "type": a["type"],
                "offenceCode": a["offence_code"],
                "newOffenceCode": a["new_offence_code"],
                "reason": a["reason"],
            }
            for a in mine
        ],
    }


_SENTENCE_FIELDS = (
    "sentence_type",
    "imposed_at",
    "custody_months",
    "community_months",
    "fine_pounds",
)


@_record(
    "case_urn",
    "hearings.hearing_id",
    "hearings.hearing_type",
    "hearings.court",
    "hearings.starts_at",
    "hearings.defendant_ids",
    "defendant_id",
    "prosecution_case_id",
    "master_defendant_id",
    "asn",
    "offences.code",
    "offences.title",
    "offences.plea",
    "offences.verdict",
    "sentences.sentence_type",
    "sentences.imposed_at",
    "sentences.custody_months",
    "sentences.community_months",
    "sentences.fine_pounds",
    "sentences.court",
)
def court_defendant(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A defendant in a Common Platform prosecution case: offences with plea and verdict
    (OffenceOutcome), their hearings (Hearing) and sentences (Sentence). The court of their
    latest hearing holds the record."""
    urn = v["case_urn"]
    hearings = [h for h in v["hearings"] if v["defendant_id"] in (h["defendant_ids"] or [])]
    hearings.sort(key=lambda h: h["starts_at"])
    if hearings:
        v["court"] = hearings[-1]["court"]
    offences = v["offences"]
    return {
        "prosecutionCaseId": v["prosecution_case_id"],
        "caseUrn": urn,
        "defendantId": v["defendant_id"],
        "masterDefendantId": v["master_defendant_id"],
        "asn": v["asn"],
        "offences": row.validated_list(
            Offence, [{"code": o["code"], "description": o["title"]} for o in offences], "offences"
        ),
        "outcomes": row.validated_list(
            OffenceOutcome,
            [
                {"offence_code": o["code"], "plea": o["plea"] or "none", "verdict": o["verdict"]}
                for o in offences
            ],
            "offences",
        ),
        "hearings": row.validated_list(
            Hearing,
            [
                {k: h[k] for k in ("hearing_id", "hearing_type", "court", "starts_at")}
                | {"case_urn": urn}
                for h in hearings
            ],
            "hearings",
        ),
        "sentences": [
            {"sentence": sentence, "court": s["court"]}
            for s, sentence in zip(
                v["sentences"],
                row.validated_list(
                    Sentence,
                    [
                        {k: s[k] for k in _SENTENCE_FIELDS}
                        | {"case_urn": urn, "offence_codes": [o["code"] for o in offences]}
                        for s in v["sentences"]
                    ],
                    "sentences",
                ),
                strict=False,
            )
        ],
    }


@_record("released_on", "prison_number", "establishment", "received_on", "reason", "release_type")
def prison_custody(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A stay in prison (CustodyEpisode)."""
    released = v["released_on"]
    return row.validated(
        CustodyEpisode,
        {
            "prison_number": v["prison_number"],
            "establishment": v["establishment"],
            "received_at": _midnight(v["received_on"]),
            "reason": v["reason"],
            "released_at": _midnight(released) if released else None,
            "release_type": v["release_type"],
        },
        "prison_number",
    )


@_record(
    "probation_crn",
    "region",
    "order_type",
    "started_on",
    "terminated_on",
    "expected_end_on",
    "termination_reason",
)
def probation_order(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """An order supervised by probation (ProbationCase); it ends when it was terminated, or
    else when it is expected to."""
    case = row.validated(
        ProbationCase,
        {
            "crn": v["probation_crn"],
            "region": v["region"],
            "order_type": v["order_type"],
            "started_on": v["started_on"],
            "ends_on": v["terminated_on"] or v["expected_end_on"],
        },
        "probation_crn",
    )
    return {
        "probationCase": case,
        "expectedEndOn": _iso(v["expected_end_on"]),
        "terminatedOn": _iso(v["terminated_on"]),
        "terminationReason": v["termination_reason"],
    }


@_record(
    "uln",
    "prison_number",
    "provider",
    "course",
    "qualification",
    "level",
    "awarding_body",
    "started_on",
    "completed_on",
    "outcome",
)
def education_learning(v: dict[str, Any], row: _Row) -> dict[str, Any] | None:
    """A course taken (LearningRecord)."""
    return row.validated(
        LearningRecord,
        {
            "uln": v["uln"],
            "prison_number": v["prison_number"],
            "provider": v["provider"],
            "course": v["course"],
            "qualification": v["qualification"],
            "level": v["level"],
            "awarding_body": v["awarding_body"],
            "started_on": v["started_on"],
            "completed_on": v["completed_on"],
            "outcome": v["outcome"] or "in_progress",
        },
        "course",
    )
