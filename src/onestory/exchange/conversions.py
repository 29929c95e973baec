"""The named conversions a layout's fields refer to ("date_dmy", "identifier:PNC"...).

Each takes the raw value and the field's spec and returns the value in canonical form, or
raises ``Bad`` with what is wrong and how to put it right, so one pass over a row's fields
finds every problem in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from onestory.domain.identifiers import IDENTIFIER_TYPES, IdentifierError, parse_identifier


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


def text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Bad(f"{quote(value)} should be text", "give the value as text")
    return str(value)


def quote(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def text(value: Any, spec: FieldSpec) -> str:
    """Text with its spaces trimmed and runs of spaces made one."""
    return " ".join(text_of(value).split())


def code(value: Any, spec: FieldSpec) -> str:
    """An organisation or reference code: no spaces inside, capitals."""
    cleaned = text_of(value).strip().upper()
    if not cleaned or any(c.isspace() for c in cleaned):
        raise Bad(f"{quote(value)} is not a code", "give the code without spaces, e.g. MDI")
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
    return _not_too_long(quote(value), text(value, spec), SURNAME_MAX, "surname")


def forenames(value: Any, spec: FieldSpec) -> list[str]:
    """Forenames, from one text ("Ann Marie") or a list of them."""
    items = value if isinstance(value, list) else [value]
    names = [part for item in items for part in text(item, spec).split(" ") if part]
    _not_too_long(quote(value), " ".join(names), FORENAMES_MAX, "list of forenames")
    return names


def texts(value: Any, spec: FieldSpec) -> list[str]:
    """A list of texts."""
    if not isinstance(value, list):
        raise Bad(f"{quote(value)} should be a list", "give the values as a JSON list")
    return [text(item, spec) for item in value]


def name_surname_comma_forenames(value: Any, spec: FieldSpec) -> tuple[list[str], str]:
    """``SURNAME, Forename Middle`` as (forenames, surname)."""
    written = text(value, spec)
    surname, comma, given = written.partition(",")
    if not comma:
        raise Bad(
            f"{quote(value)} has no comma between the surname and the forenames",
            "write the name as SURNAME, Forenames",
        )
    names = forenames(given, spec)
    if not surname.strip() or not names:
        part = "surname" if not surname.strip() else "forenames"
        raise Bad(f"{quote(value)} has no {part}", "write the name as SURNAME, Forenames")
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
            f"{quote(value)} is one word, but forenames and a surname are needed",
            "write the name as Forenames Surname",
        )
    _not_too_long(quote(value), " ".join(words[:-1]), FORENAMES_MAX, "list of forenames")
    return words[:-1], _not_too_long(quote(value), words[-1], SURNAME_MAX, "surname")


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
            f"{quote(value)} is not a real date: {detail}", f"give the date as {how}"
        ) from None


def _date(value: Any, how: str) -> date:
    written = text_of(value).strip()
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
        raise Bad(f"{quote(value)} is not a date", f"give the date as {how}")
    return _real_date(value, year, month, day, how)


def date_dmy(value: Any, spec: FieldSpec) -> date:
    """A date written DD/MM/YYYY (D/M/YYYY and the ISO form are read too)."""
    return _date(value, "DD/MM/YYYY")


def date_iso(value: Any, spec: FieldSpec) -> date:
    """A date written YYYY-MM-DD (DD/MM/YYYY is read too: slashes always mean day first)."""
    return _date(value, "YYYY-MM-DD")


def datetime_iso(value: Any, spec: FieldSpec) -> datetime:
    """A moment in ISO 8601 with its UTC offset; a date alone is midnight in the UK."""
    written = text_of(value).strip()
    if _ISO.fullmatch(written):
        return midnight(date_iso(written, spec))
    try:
        moment = datetime.fromisoformat(written)
    except ValueError:
        raise Bad(
            f"{quote(value)} is not a date and time",
            "give it as YYYY-MM-DDTHH:MM:SS+01:00 (ISO 8601 with the offset)",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_LONDON)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=_LONDON)


@lru_cache(maxsize=1 << 14)
def _canonical_identifier(type_code: str, written: str) -> str:
    # The same person's PNC ID or prison number comes back row after row: parse it once.
    return str(parse_identifier(type_code, written))


def identifier(value: Any, spec: FieldSpec) -> str:
    """An identifier of the type after the colon (identifier:PNC), in its canonical form."""
    assert spec.arg is not None
    try:
        return _canonical_identifier(spec.arg, text_of(value))
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
        raise Bad(f"{quote(value)} is not a sex code", "give M, F or U (Male, Female, Unknown)")
    return found


def postcode(value: Any, spec: FieldSpec) -> str:
    """A UK postcode, capitals with one space before the last three characters."""
    squeezed = "".join(text_of(value).split()).upper()
    if not _POSTCODE.fullmatch(squeezed):
        raise Bad(f"{quote(value)} is not a UK postcode", "give a full postcode, e.g. SW1A 1AA")
    return f"{squeezed[:-3]} {squeezed[-3:]}"


_YES = {"y": True, "yes": True, "true": True, "1": True, "n": False, "no": False, "false": False,
        "0": False}  # fmt: skip


def yes_no(value: Any, spec: FieldSpec) -> bool:
    """Y or N (also Yes/No, true/false, 1/0)."""
    if isinstance(value, bool):
        return value
    found = _YES.get(text(value, spec).casefold())
    if found is None:
        raise Bad(f"{quote(value)} is neither yes nor no", "give Y or N")
    return found


def split_semicolon(value: Any, spec: FieldSpec) -> list[str]:
    """Values separated by semicolons; blanks between them are dropped."""
    return [part for part in (text(p, spec) for p in text_of(value).split(";")) if part]


def address_lines(value: Any, spec: FieldSpec) -> dict[str, Any]:
    """An address in one comma-separated text; the last part is the town."""
    parts = [p for p in (text(p, spec) for p in text_of(value).split(",")) if p]
    if len(parts) < 2:
        return {"lines": parts, "town": None}
    lines, town = parts[:-1], parts[-1]
    if len(lines) > 5:  # the common model holds five lines; the rest stay, joined to the fifth
        lines = [*lines[:4], ", ".join(lines[4:])]
    return {"lines": lines, "town": town}


def address_fields(value: Any, spec: FieldSpec) -> dict[str, Any]:
    """Common Platform's address1 … address5 as address lines (the postcode is read apart)."""
    if not isinstance(value, dict):
        raise Bad(f"{quote(value)} should be an address object", "give address1 … address5")
    lines = [text(value[k], spec) for k in ("address1", "address2", "address3", "address4",
             "address5") if value.get(k)]  # fmt: skip
    return {"lines": [line for line in lines if line], "town": None}


def lookup(value: Any, spec: FieldSpec) -> str:
    """One of the layout's values (matched whatever the capitals and extra spaces)."""
    assert spec.values is not None
    found = spec.values.get(text(value, spec).casefold())
    if found is None:
        known = ", ".join(sorted({k for k in spec.values}))
        raise Bad(f"{quote(value)} is not a known value", f"give one of: {known}")
    return found


def lookup_each(value: Any, spec: FieldSpec) -> list[str]:
    """Semicolon-separated values, each one of the layout's values; duplicates once."""
    items = value if isinstance(value, list) else split_semicolon(value, spec)
    return list(dict.fromkeys(lookup(item, spec) for item in items))


def force_code(value: Any, spec: FieldSpec) -> str:
    """A police force code: two digits ("4" is read as "04")."""
    written = text_of(value).strip()
    if not (written.isascii() and written.isdigit() and len(written) <= 2):
        raise Bad(f"{quote(value)} is not a police force code", "give the two-digit force code")
    return written.zfill(2)


def whole_number(value: Any, spec: FieldSpec) -> int:
    """A whole number, zero or more."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    written = text_of(value).strip()
    if not (written.isascii() and written.isdigit()):
        raise Bad(f"{quote(value)} is not a whole number", "give a whole number, e.g. 12")
    return int(written)


CONVERSIONS: dict[str, Conversion] = {
    f.__name__: f
    for f in (text, code, name, forenames, texts, name_surname_comma_forenames,
              name_forenames_surname, date_dmy, date_iso, datetime_iso, identifier, sex,
              postcode, yes_no, split_semicolon, address_lines, address_fields, lookup,
              lookup_each, force_code, whole_number)
}  # fmt: skip
