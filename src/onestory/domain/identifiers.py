"""Identifiers used across criminal justice in England and Wales, as validating value types.

Each type is a ``str`` whose value is the canonical form. Making one (``PNCId("81/34U")`` or
``PNCId.parse(...)``) strips surrounding whitespace, accepts case variations and the documented
alternative spellings, checks the format and any check character, and raises
:class:`IdentifierError` naming the part that is wrong. So every instance is valid, compares equal
to its canonical text, and is hashable and immutable. The types also work as Pydantic field
types: they validate and normalise input, serialise as the canonical string and appear in JSON
Schema as a string with a pattern for the canonical form (input may be looser than the pattern).

The check rules follow public Ministry of Justice code: hmpps-person-record (PNC ID, CRO
number) and bichard7-next-core (ASN).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

MOD23_ALPHABET: Final = "ZABCDEFGHJKLMNPQRTUVWXY"
_CHECK_CLASS: Final = "[A-HJ-NP-RT-Z]"  # MOD23_ALPHABET as a regex class: no I, O or S

PNC_CENTURY_PIVOT: Final = 39
"""Two-digit PNC years below this are 20YY, the rest 19YY (see :class:`PNCId`)."""

TEMPORARY_ULN: Final = "9999999999"
DUMMY_ASN_PREFIXES: Final = ("0800NP00", "0800PP00")


class IdentifierError(ValueError):
    """An identifier that is malformed or fails its check, saying which part is wrong."""

    def __init__(self, kind: str, value: str, part: str, detail: str) -> None:
        super().__init__(f"{kind} '{value}': {detail}")
        self.kind = kind
        self.value = value
        self.part = part
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would rebuild the error from the message alone and fail.
        return (type(self), (self.kind, self.value, self.part, self.detail))


class _Rejected(Exception):
    """Raised inside a parser; the base class turns it into an IdentifierError with the input."""

    def __init__(self, part: str, detail: str) -> None:
        super().__init__(detail)
        self.part = part
        self.detail = detail


def _compile(regex: str) -> re.Pattern[str]:
    # ASCII so that \s and friends, and case rules, never admit look-alike Unicode characters.
    return re.compile(regex, re.ASCII)


_DIGITS = _compile(r"[0-9]+")
_TEN_DIGITS = _compile(r"[0-9]{10}")


# --- Check characters --------------------------------------------------------------------


def mod23_check_char(number: int) -> str:
    """The mod-23 check character of ``number``, shared by PNC IDs, CRO numbers and ASNs."""
    if number < 0:
        raise ValueError(f"number must not be negative, got {number}")
    return MOD23_ALPHABET[number % 23]


def _require(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")


def pnc_check_char(year: int, serial: int) -> str:
    """The check character of a PNC ID; only the last two digits of ``year`` count."""
    _require("year", year, 0, 9999)
    _require("serial", serial, 0, 9_999_999)
    return mod23_check_char(year % 100 * 10**7 + serial)


def cro_check_char(
    year: int, serial: int, *, sf: bool = False, serial_text: str | None = None
) -> str:
    """The check character of a CRO number, standard form or (``sf``) SF form.

    The SF form's check runs over the serial as written, so leading zeros matter: pass them in
    ``serial_text`` (default ``str(serial)``).
    """
    _require("year", year, 0, 9999)
    if not sf:
        if serial_text is not None:
            raise ValueError("serial_text applies only to the SF form")
        _require("serial", serial, 0, 999_999)
        return mod23_check_char(year % 100 * 10**6 + serial)
    text = str(serial) if serial_text is None else serial_text
    if not (_DIGITS.fullmatch(text) and len(text) <= 6 and int(text) == serial):
        raise ValueError(f"serial_text {text!r} is not 1 to 6 digits spelling {serial}")
    return mod23_check_char(year % 100 * 10 ** len(text) + serial)


_ASN_BODY = _compile(r"([0-9]{2})([A-Z0-9]{2})[A-Z0-9]{2}([A-Z0-9]{2})([0-9]{11})")


def asn_check_char(first19: str) -> str:
    """The check character of the ASN whose first 19 characters are ``first19``."""
    match = _ASN_BODY.fullmatch(first19.upper())
    if match is None:
        raise ValueError(f"{first19!r} is not YY, force, unit, system and an 11-digit sequence")
    year, force, system, sequence = match.groups()
    # Force and system codes count only when numeric; the unit never does (Bichard's Asn.ts).
    prefix = "".join(code for code in (force, system) if code.isdigit())
    return mod23_check_char(int(prefix + year + sequence))


def _weighted_sum(first9: str) -> int:
    if not (len(first9) == 9 and _DIGITS.fullmatch(first9)):
        raise ValueError(f"expected 9 digits, got {first9!r}")
    return sum(int(digit) * (10 - i) for i, digit in enumerate(first9))


def nhs_check_digit(first9: str) -> int | None:
    """The NHS number check digit after ``first9``, or None if no valid number starts so."""
    check = 11 - _weighted_sum(first9) % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


def uln_check_digit(first9: str) -> int | None:
    """The ULN check digit after ``first9``, or None if no valid ULN starts so."""
    remainder = _weighted_sum(first9) % 11
    return None if remainder == 0 else 10 - remainder


def _verify_check(found: str, expected: str, name: str = "check character") -> None:
    if found != expected:
        raise _Rejected(name, f"{name} is '{found}' but should be '{expected}'")


# --- Value types ---------------------------------------------------------------------------


class IdentifierValue(str):
    """Base of the identifier types: a ``str`` holding a valid identifier in canonical form."""

    __slots__ = ()

    KIND: ClassVar[str]  # what the identifier is called in messages, e.g. "PNC ID"
    EXPECTED: ClassVar[str]  # what a format error says
    PATTERN: ClassVar[str]  # the canonical form, as a regex both Python and JSON Schema accept
    DESCRIPTION: ClassVar[str]

    def __new__(cls, text: str) -> Self:
        if not isinstance(text, str):
            raise TypeError(f"a {cls.KIND} is made from text, not {type(text).__name__}")
        cleaned = text.strip().upper()
        try:
            if not cleaned.isascii():
                raise cls._format_error()
            canonical = cls._canonical(cleaned)
        except _Rejected as rejected:
            raise IdentifierError(cls.KIND, text, rejected.part, rejected.detail) from None
        return super().__new__(cls, canonical)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Validate ``text`` and return the identifier in canonical form."""
        return cls(text)

    @classmethod
    def _canonical(cls, text: str) -> str:
        """The canonical form of ``text`` (stripped, upper case, ASCII), or raise _Rejected."""
        # Every concrete identifier type overrides this; the base class is never instantiated.
        raise TypeError(f"{cls.__name__} does not define its canonical form")

    @classmethod
    def _format_error(cls) -> _Rejected:
        return _Rejected("format", cls.EXPECTED)

    @classmethod
    def _match(cls, regex: re.Pattern[str], text: str) -> tuple[str, ...]:
        match = regex.fullmatch(text)
        if match is None:
            raise cls._format_error()
        return match.groups()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(when_used="always"),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": cls.PATTERN, "description": cls.DESCRIPTION}


_PNC_FORMS = (
    _compile(r"([0-9]{4}|[0-9]{2})/([0-9]{1,7})([A-Z])"),
    _compile(r"([0-9]{4})([0-9]{7})([A-Z])"),  # long form without the slash: always 12 chars
    _compile(r"([0-9]{2})([0-9]{1,7})([A-Z])"),  # short form without the slash: 4 to 10 chars
)


class PNCId(IdentifierValue):
    """A Police National Computer ID, canonical ``YYYY/NNNNNNND``.

    Also accepted: the short form ``YY/N…D``, serials without leading zeros, and either form
    without the slash. A two-digit year below ``PNC_CENTURY_PIVOT`` (39) becomes 20YY, any
    other 19YY; a four-digit year is kept as written. The pivot is fixed rather than tied to
    today's date so that the same text always gives the same ID and joins do not drift as
    years pass. The other rule MoJ services use ("00 up to this year are 20YY") differs only
    for years after this one up to 38: IDs dated in the future or in 1927-1938, neither of
    which should occur. Revisit the pivot before 2039. The check character covers only the
    two-digit year, so a century cannot be verified: match on ``short`` where another system
    may have expanded it differently.
    """

    __slots__ = ()
    KIND = "PNC ID"
    EXPECTED = "expected YYYY/NNNNNNND or YY/NNNNNNND (with or without the slash)"
    PATTERN = rf"^(19|20)[0-9]{{2}}/[0-9]{{7}}{_CHECK_CLASS}$"
    DESCRIPTION = "Police National Computer ID, YYYY/NNNNNNND (mod-23 check character)"

    @classmethod
    def _canonical(cls, text: str) -> str:
        for form in _PNC_FORMS:
            if match := form.fullmatch(text):
                year_text, serial_text, check = match.groups()
                break
        else:
            raise cls._format_error()
        year = int(year_text)
        if len(year_text) == 2:
            year += 2000 if year < PNC_CENTURY_PIVOT else 1900
        elif not 1900 <= year <= 2099:
            raise _Rejected("year", f"year {year_text} is not in 1900 to 2099")
        serial = int(serial_text)
        if serial == 0:
            raise _Rejected("serial", "serial must not be zero")
        _verify_check(check, pnc_check_char(year, serial))
        return f"{year}/{serial:07d}{check}"

    @property
    def year(self) -> int:
        """The four-digit year."""
        return int(self[:4])

    @property
    def serial(self) -> int:
        """The serial number."""
        return int(self[5:12])

    @property
    def short(self) -> str:
        """The short display form ``YY/N…D``: century and leading zeros dropped."""
        return f"{self[2:4]}/{self.serial}{self[-1]}"


_CRO_STANDARD = _compile(r"([0-9]{1,6})/([0-9]{2})([A-Z])")
_CRO_SF = _compile(r"SF([0-9]{2})/([0-9]{1,6})([A-Z])")


class CRONumber(IdentifierValue):
    """A Criminal Records Office number: ``NNNNNN/YYD`` or the SF form ``SFYY/NNNNNND``.

    The standard form's serial may be written with 1 to 6 digits and is padded to 6. The SF
    form's serial stays as written, because its check character is computed over the digits as
    written.
    """

    __slots__ = ()
    KIND = "CRO number"
    EXPECTED = "expected NNNNNN/YYD or SFYY/NNNNNND"
    PATTERN = rf"^([0-9]{{6}}/[0-9]{{2}}|SF[0-9]{{2}}/[0-9]{{1,6}}){_CHECK_CLASS}$"
    DESCRIPTION = "Criminal Records Office number, NNNNNN/YYD or SFYY/NNNNNND"

    @classmethod
    def _canonical(cls, text: str) -> str:
        sf = text.startswith("SF")
        if sf:
            year_text, serial_text, check = cls._match(_CRO_SF, text)
        else:
            serial_text, year_text, check = cls._match(_CRO_STANDARD, text)
        serial = int(serial_text)
        if serial == 0:
            raise _Rejected("serial", "serial must not be zero")
        year = int(year_text)
        if sf:
            _verify_check(check, cro_check_char(year, serial, sf=True, serial_text=serial_text))
            return f"SF{year_text}/{serial_text}{check}"
        _verify_check(check, cro_check_char(year, serial))
        return f"{serial:06d}/{year_text}{check}"

    @property
    def is_sf(self) -> bool:
        """Whether this is the SF form."""
        return self.startswith("SF")


_ASN_COMPACT = _compile(r"([0-9]{2}[A-Z0-9]{6}[0-9]{11})([A-Z])")
_ASN_DISPLAY = _compile(r"([0-9]{2})/([A-Z0-9]{4})/([A-Z0-9]{2})/([0-9]{1,11})([A-Z])")


class ASN(IdentifierValue):
    """An Arrest/Summons Number: 20 characters ``YYFFUUSSNNNNNNNNNNND``.

    Year, force, unit, system, an 11-digit sequence and a mod-23 check character. The display
    form ``YY/FFUU/SS/N…D`` (leading zeros of the sequence dropped) is accepted too. Bichard's
    pattern also admits a 21-character variant with a top-level organisation code; its check
    rule is not published consistently, so it is rejected here, as are compact short forms.
    """

    __slots__ = ()
    KIND = "ASN"
    EXPECTED = "expected YYFFUUSSNNNNNNNNNNND (20 characters) or YY/FFUU/SS/NNNNNND"
    PATTERN = rf"^[0-9]{{2}}[A-Z0-9]{{6}}[0-9]{{11}}{_CHECK_CLASS}$"
    DESCRIPTION = "Arrest/Summons Number, 20 characters with a mod-23 check character"

    @classmethod
    def _canonical(cls, text: str) -> str:
        if match := _ASN_DISPLAY.fullmatch(text):
            year, force_unit, system, sequence, check = match.groups()
            first19 = f"{year}{force_unit}{system}{int(sequence):011d}"
        else:
            first19, check = cls._match(_ASN_COMPACT, text)
        _verify_check(check, asn_check_char(first19))
        return first19 + check

    @property
    def force(self) -> str:
        """The police force code."""
        return self[2:4]

    @property
    def display(self) -> str:
        """The display form ``YY/FFUU/SS/N…D``."""
        return f"{self[:2]}/{self[2:6]}/{self[6:8]}/{int(self[8:19])}{self[19]}"

    @property
    def is_dummy(self) -> bool:
        """Whether this is a dummy ASN that courts' systems substitute for a missing one."""
        return self.startswith(DUMMY_ASN_PREFIXES)


_CCRN = _compile(r"([0-9]{2})/([0-9]{4})/([0-9]{6})([A-Z])")


class CourtCaseRef(IdentifierValue):
    """A court case reference number (CCRN), ``YY/CCCC/NNNNNND``.

    Only the format is validated. The check character is described as the mod-23 rule over
    YY, CCCC and the serial, but the published example fails that rule, so it is unconfirmed:
    ``check_char_matches`` reports it for information only.
    """

    __slots__ = ()
    KIND = "court case reference"
    EXPECTED = "expected YY/CCCC/NNNNNND"
    PATTERN = rf"^[0-9]{{2}}/[0-9]{{4}}/[0-9]{{6}}{_CHECK_CLASS}$"
    DESCRIPTION = "Court case reference number, YY/CCCC/NNNNNND"

    @classmethod
    def _canonical(cls, text: str) -> str:
        check = cls._match(_CCRN, text)[-1]
        if check not in MOD23_ALPHABET:
            raise _Rejected("check character", f"'{check}' is never a check character")
        return text

    @property
    def check_char_matches(self) -> bool:
        """Whether the last character fits the (unconfirmed) mod-23 rule."""
        return mod23_check_char(int(self[:2] + self[3:7] + self[8:14])) == self[-1]


_URN = _compile(r"([0-9]{2}[A-Z0-9]{2}[0-9]{7})(?:[/-]([A-Z0-9]{1,3}))?")


class CaseURN(IdentifierValue):
    """A police case URN (PTI-URN), ``FFUUNNNNNYY``: force, unit, serial and year.

    Spaces inside are ignored. A split or merged case may carry a suffix of 1 to 3 letters or
    digits after ``/`` or ``-``; the canonical form writes it after ``/`` (``61GD7528225/2``).
    """

    __slots__ = ()
    KIND = "case URN"
    EXPECTED = "expected FFUUNNNNNYY, e.g. 61GD7528225, optionally followed by /suffix"
    PATTERN = r"^[0-9]{2}[A-Z0-9]{2}[0-9]{7}(/[A-Z0-9]{1,3})?$"
    DESCRIPTION = "Police case URN, FFUUNNNNNYY with an optional /suffix for split or merged cases"

    @classmethod
    def _canonical(cls, text: str) -> str:
        base, suffix = cls._match(_URN, text.replace(" ", ""))
        return base if suffix is None else f"{base}/{suffix}"

    @property
    def force(self) -> str:
        """The police force code."""
        return self[:2]

    @property
    def suffix(self) -> str | None:
        """The split or merge suffix, if any."""
        return self[12:] or None


_OFFENCE = _compile(r"(COML[0-9]{3}|[A-Z]{2}[0-9]{5})([A-Z]?)")


class OffenceCode(IdentifierValue):
    """A CJS offence code, ``AAYYNNN`` (including ``XX00NNN``) or ``COMLNNN``, plus a qualifier.

    The optional qualifier is A (attempting), B (aiding and abetting), C (conspiring) or I
    (inciting). Only the format is checked: whether the code exists is a lookup elsewhere.
    """

    __slots__ = ()
    KIND = "offence code"
    EXPECTED = "expected AAYYNNN or COMLNNN, optionally followed by a qualifier A, B, C or I"
    PATTERN = r"^(COML[0-9]{3}|[A-Z]{2}[0-9]{5})[ABCI]?$"
    DESCRIPTION = "CJS offence code, e.g. TH68001, with an optional qualifier A, B, C or I"

    @classmethod
    def _canonical(cls, text: str) -> str:
        qualifier = cls._match(_OFFENCE, text)[1]
        if qualifier and qualifier not in "ABCI":
            raise _Rejected("qualifier", f"qualifier '{qualifier}' should be A, B, C or I")
        return text

    @property
    def qualifier(self) -> str | None:
        """The qualifier letter, if any."""
        return self[7:] or None


_PRISON_NUMBER = _compile(r"[A-Z][0-9]{4}[A-Z]{2}")


class PrisonNumber(IdentifierValue):
    """A prison (NOMS) number, ``ANNNNAA`` such as ``A1234BC``; format only."""

    __slots__ = ()
    KIND = "prison number"
    EXPECTED = "expected a letter, 4 digits and 2 letters, e.g. A1234BC"
    PATTERN = r"^[A-Z][0-9]{4}[A-Z]{2}$"
    DESCRIPTION = "Prison (NOMS) number, e.g. A1234BC"

    @classmethod
    def _canonical(cls, text: str) -> str:
        cls._match(_PRISON_NUMBER, text)
        return text


_CRN = _compile(r"[A-Z][0-9]{6}")


class ProbationCRN(IdentifierValue):
    """A probation case reference number (nDelius CRN), ``ANNNNNN`` such as ``X123456``."""

    __slots__ = ()
    KIND = "probation CRN"
    EXPECTED = "expected a letter and 6 digits, e.g. X123456"
    PATTERN = r"^[A-Z][0-9]{6}$"
    DESCRIPTION = "Probation case reference number (nDelius CRN), e.g. X123456"

    @classmethod
    def _canonical(cls, text: str) -> str:
        cls._match(_CRN, text)
        return text


class NHSNumber(IdentifierValue):
    """An NHS number: 10 digits with a mod-11 check digit, written with or without separators."""

    __slots__ = ()
    KIND = "NHS number"
    EXPECTED = "expected 10 digits, e.g. 943 476 5919"
    PATTERN = r"^[0-9]{10}$"
    DESCRIPTION = "NHS number, 10 digits without spaces"

    @classmethod
    def _canonical(cls, text: str) -> str:
        digits = re.sub(r"[ -]", "", text)
        cls._match(_TEN_DIGITS, digits)
        expected = nhs_check_digit(digits[:9])
        if expected is None:
            raise _Rejected("check digit", f"no NHS number starts {digits[:9]}")
        _verify_check(digits[9], str(expected), "check digit")
        return digits

    @property
    def display(self) -> str:
        """The number as shown to people, ``NNN NNN NNNN``."""
        return f"{self[:3]} {self[3:6]} {self[6:]}"


class ULN(IdentifierValue):
    """A Unique Learner Number: 10 digits with a mod-11 check digit, or the temporary one."""

    __slots__ = ()
    KIND = "ULN"
    EXPECTED = "expected 10 digits"
    PATTERN = r"^[0-9]{10}$"
    DESCRIPTION = "Unique Learner Number, 10 digits (9999999999 is the temporary ULN)"

    @classmethod
    def _canonical(cls, text: str) -> str:
        cls._match(_TEN_DIGITS, text)
        if text == TEMPORARY_ULN:
            return text
        expected = uln_check_digit(text[:9])
        if expected is None:
            raise _Rejected("check digit", f"no ULN starts {text[:9]}")
        _verify_check(text[9], str(expected), "check digit")
        return text

    @property
    def is_temporary(self) -> bool:
        """Whether this is the temporary ULN, used until the learner's own is known."""
        return self == TEMPORARY_ULN


_NINO = _compile(r"([A-Z]{2})([0-9]{6})([A-Z])")
_NINO_UNUSED_PREFIXES: Final = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


class NINumber(IdentifierValue):
    """A National Insurance number, ``AB123456C``: prefix letters, six digits, suffix A to D."""

    __slots__ = ()
    KIND = "National Insurance number"
    EXPECTED = "expected 2 letters, 6 digits and a letter A to D, e.g. AB123456C"
    PATTERN = r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"
    DESCRIPTION = "National Insurance number, e.g. AB123456C"

    @classmethod
    def _canonical(cls, text: str) -> str:
        canonical = text.replace(" ", "")
        prefix, _, suffix = cls._match(_NINO, canonical)
        if prefix[0] in "DFIQUV":
            raise _Rejected("prefix letters", f"first letter '{prefix[0]}' is never used")
        if prefix[1] in "DFIOQUV":
            raise _Rejected("prefix letters", f"second letter '{prefix[1]}' is never used")
        if prefix in _NINO_UNUSED_PREFIXES:
            raise _Rejected("prefix letters", f"prefix '{prefix}' is never allocated")
        if suffix not in "ABCD":
            raise _Rejected("suffix", f"suffix '{suffix}' should be A, B, C or D")
        return canonical


IDENTIFIER_TYPES: dict[str, type[IdentifierValue]] = {
    "PNC": PNCId,
    "CRO": CRONumber,
    "ASN": ASN,
    "URN": CaseURN,
    "CCRN": CourtCaseRef,
    "OFFENCE": OffenceCode,
    "NOMS": PrisonNumber,
    "CRN": ProbationCRN,
    "NHS": NHSNumber,
    "ULN": ULN,
    "NINO": NINumber,
}


def parse_identifier(type_code: str, value: str) -> IdentifierValue:
    """Parse ``value`` as the identifier type named by ``type_code`` (a key of IDENTIFIER_TYPES)."""
    # Type codes are matched exactly: records keep the code as given, and look-ups by code
    # (e.g. PersonReference.first("PNC")) would miss a "pnc" that was let through.
    identifier_type = IDENTIFIER_TYPES.get(type_code)
    if identifier_type is None:
        known = ", ".join(IDENTIFIER_TYPES)
        raise IdentifierError(
            "identifier type", type_code, "type", f"unknown type code, expected one of {known}"
        )
    return identifier_type.parse(value)
