"""Identifier value types: the reference examples, error reporting, check-character strength."""

from __future__ import annotations

import pickle
import re
import string
from collections.abc import Callable

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from onestory.domain.identifiers import (
    ASN,
    IDENTIFIER_TYPES,
    MOD23_ALPHABET,
    PNC_CENTURY_PIVOT,
    TEMPORARY_ULN,
    ULN,
    CaseURN,
    CourtCaseRef,
    CRONumber,
    IdentifierError,
    IdentifierValue,
    NHSNumber,
    NINumber,
    OffenceCode,
    PNCId,
    PrisonNumber,
    ProbationCRN,
    asn_check_char,
    cro_check_char,
    mod23_check_char,
    nhs_check_digit,
    parse_identifier,
    pnc_check_char,
    uln_check_digit,
)

FAST = settings(max_examples=60, deadline=None)


def rejected(cls: type[IdentifierValue], text: str) -> IdentifierError:
    with pytest.raises(IdentifierError) as caught:
        cls.parse(text)
    return caught.value


# --- The examples in the reference -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "short"),
    [
        ("2002/0073319Z", "2002/0073319Z", "02/73319Z"),
        ("1979/0163001B", "1979/0163001B", "79/163001B"),
        ("81/34U", "1981/0000034U", "81/34U"),
        ("00/223R", "2000/0000223R", "00/223R"),
        ("67/9893091D", "1967/9893091D", "67/9893091D"),
        ("1981/0154257C", "1981/0154257C", "81/154257C"),
        ("12/394773H", "2012/0394773H", "12/394773H"),
    ],
)
def test_pnc_examples_parse(text: str, canonical: str, short: str) -> None:
    pnc = PNCId.parse(text)
    assert pnc == canonical
    assert type(pnc) is PNCId
    assert pnc.short == short
    assert PNCId.parse(pnc.short) == pnc


@pytest.mark.parametrize(
    ("text", "found", "expected"),
    [
        ("20030011985Z", "Z", "X"),
        ("20120052494O", "O", "Q"),
        ("20230583843N", "N", "L"),
        ("2001/0171310S", "S", "W"),
    ],
)
def test_pnc_examples_rejected(text: str, found: str, expected: str) -> None:
    error = rejected(PNCId, text)
    assert error.part == "check character"
    assert str(error) == f"PNC ID '{text}': check character is '{found}' but should be '{expected}'"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("SF05/482703J", "SF05/482703J"),
        ("SF83/50058Z", "SF83/50058Z"),
        ("065656/91H", "065656/91H"),
        ("65656/91H", "065656/91H"),
        ("86621/65B", "086621/65B"),
        ("29906/12J", "029906/12J"),
    ],
)
def test_cro_examples_parse(text: str, canonical: str) -> None:
    cro = CRONumber.parse(text)
    assert cro == canonical
    assert cro.is_sf == text.startswith("SF")


def test_cro_example_rejected() -> None:
    error = rejected(CRONumber, "85227/65G")
    assert error.part == "check character"
    assert str(error) == "CRO number '85227/65G': check character is 'G' but should be 'L'"


@pytest.mark.parametrize(
    ("first19", "check"),
    [
        ("2202XC0200000000021", "R"),
        ("2005FF0500000000555", "P"),
        ("9700000000000123456", "K"),
        ("22FD112200001234560", "X"),
    ],
)
def test_asn_examples(first19: str, check: str) -> None:
    assert asn_check_char(first19) == check
    asn = ASN.parse(first19.lower() + check)
    assert asn == first19 + check
    assert ASN.parse(asn.display) == asn
    wrong = next(c for c in MOD23_ALPHABET if c != check)
    assert rejected(ASN, first19 + wrong).part == "check character"


def test_asn_display_form_drops_leading_zeros() -> None:
    asn = ASN.parse("9700000000000123456K")
    assert asn.display == "97/0000/00/123456K"
    assert asn.force == "00"
    assert ASN.parse(" 97/0000/00/00000123456k ") == asn


def test_dummy_asns() -> None:
    for prefix in ("0800NP00", "0800PP00"):
        first19 = prefix + "00000000001"
        assert ASN.parse(first19 + asn_check_char(first19)).is_dummy
    assert not ASN.parse("2202XC0200000000021R").is_dummy


def test_nhs_example() -> None:
    for text in ("9434765919", "943 476 5919", "943-476-5919", " 943 476 5919 "):
        nhs = NHSNumber.parse(text)
        assert nhs == "9434765919"
        assert nhs.display == "943 476 5919"
    error = rejected(NHSNumber, "9434765918")
    assert error.part == "check digit"
    assert str(error) == "NHS number '9434765918': check digit is '8' but should be '9'"


def test_nhs_number_whose_check_would_be_ten() -> None:
    # Weighted sum 12 leaves remainder 1, so the check would be 10: no such NHS number.
    assert nhs_check_digit("000000006") is None
    assert rejected(NHSNumber, "0000000060").part == "check digit"


@pytest.mark.parametrize("text", ["1026893096", "1174112637"])
def test_uln_examples(text: str) -> None:
    assert ULN.parse(text) == text
    assert not ULN.parse(text).is_temporary
    assert uln_check_digit(text[:9]) == int(text[9])


def test_temporary_uln() -> None:
    assert uln_check_digit("999999999") == 8  # so the temporary ULN is not check-valid ...
    assert ULN.parse(TEMPORARY_ULN).is_temporary  # ... yet accepted as the known exception
    assert uln_check_digit("000000000") is None
    assert rejected(ULN, "0000000000").part == "check digit"


@pytest.mark.parametrize(
    ("cls", "text", "canonical"),
    [
        (CaseURN, "61GD7528225", "61GD7528225"),
        (CaseURN, " 61 gd 75282 25 ", "61GD7528225"),
        (CaseURN, "61GD7528225-2", "61GD7528225/2"),
        (CaseURN, "61gd7528225/ab", "61GD7528225/AB"),
        (CourtCaseRef, "97/1626/008395q", "97/1626/008395Q"),
        (OffenceCode, "TH68001", "TH68001"),
        (OffenceCode, "th68001a", "TH68001A"),
        (OffenceCode, "COML025", "COML025"),
        (OffenceCode, "COML025C", "COML025C"),
        (OffenceCode, "XX00001", "XX00001"),
        (PrisonNumber, "a1234bc", "A1234BC"),
        (ProbationCRN, " x123456", "X123456"),
        (NINumber, "AB123456C", "AB123456C"),
        (NINumber, "ab 12 34 56 c", "AB123456C"),
    ],
)
def test_format_only_types(cls: type[IdentifierValue], text: str, canonical: str) -> None:
    value = cls.parse(text)
    assert value == canonical
    assert type(value) is cls


def test_format_only_properties() -> None:
    assert CaseURN.parse("61GD7528225").suffix is None
    assert CaseURN.parse("61GD7528225/2").suffix == "2"
    assert CaseURN.parse("61GD7528225").force == "61"
    assert OffenceCode.parse("TH68001").qualifier is None
    assert OffenceCode.parse("TH68001B").qualifier == "B"
    fits = mod23_check_char(971626008395)
    other = next(c for c in MOD23_ALPHABET if c != fits)
    assert CourtCaseRef.parse(f"97/1626/008395{fits}").check_char_matches
    assert not CourtCaseRef.parse(f"97/1626/008395{other}").check_char_matches  # still accepted


@pytest.mark.parametrize(
    ("cls", "text", "part"),
    [
        (PNCId, "12/ab", "format"),
        (PNCId, "", "format"),
        (PNCId, "81/34", "format"),
        (PNCId, "81/12345678U", "format"),
        (PNCId, "2150/0000034U", "year"),
        (PNCId, "1881/0000034U", "year"),
        (PNCId, "81/0Z", "serial"),
        (PNCId, "81/34U\u0301", "format"),
        (CRONumber, "12/ab", "format"),
        (CRONumber, "1234567/91H", "format"),
        (CRONumber, "SF05482703J", "format"),
        (CRONumber, "000000/91Z", "serial"),
        (ASN, "2202XC0200000000021", "format"),
        (ASN, "2202XC020000000021R", "format"),
        (ASN, "22A02XC0200000000021R", "format"),  # 21-character variant: not accepted
        (ASN, "2202XC0200000000021S", "check character"),
        (CourtCaseRef, "97/1626/8395Q", "format"),
        (CourtCaseRef, "97/1626/008395O", "check character"),
        (CaseURN, "61GD752822", "format"),
        (CaseURN, "61GD7528225X", "format"),
        (CaseURN, "61GD7528225/ABCD", "format"),
        (OffenceCode, "TH6800", "format"),
        (OffenceCode, "TH68001X", "qualifier"),
        (OffenceCode, "COML25", "format"),
        (PrisonNumber, "A12345C", "format"),
        (ProbationCRN, "X12345", "format"),
        (NHSNumber, "943476591", "format"),
        (NHSNumber, "94347659190", "format"),
        (NHSNumber, "943.476.5919", "format"),
        (ULN, "102689309", "format"),
        (ULN, "1026893097", "check digit"),
        (NINumber, "AB123456", "format"),
        (NINumber, "A1123456C", "format"),
        (NINumber, "QQ123456C", "prefix letters"),
        (NINumber, "AO123456C", "prefix letters"),
        (NINumber, "GB123456C", "prefix letters"),
        (NINumber, "ZZ123456C", "prefix letters"),
        (NINumber, "AB123456E", "suffix"),
    ],
)
def test_rejections_name_the_part(cls: type[IdentifierValue], text: str, part: str) -> None:
    error = rejected(cls, text)
    assert error.part == part
    assert error.kind == cls.KIND
    assert error.value == text


def test_error_messages() -> None:
    assert str(rejected(CRONumber, "12/ab")) == (
        "CRO number '12/ab': expected NNNNNN/YYD or SFYY/NNNNNND"
    )
    assert str(rejected(NINumber, "GB123456C")) == (
        "National Insurance number 'GB123456C': prefix 'GB' is never allocated"
    )
    assert str(rejected(OffenceCode, "TH68001X")) == (
        "offence code 'TH68001X': qualifier 'X' should be A, B, C or I"
    )
    assert str(rejected(PNCId, "2150/0000034U")) == (
        "PNC ID '2150/0000034U': year 2150 is not in 1900 to 2099"
    )


def test_nino_prefix_rules_agree_with_the_pattern() -> None:
    # The JSON Schema pattern restates the prefix rules: check both agree on every prefix.
    for first in string.ascii_uppercase:
        for second in string.ascii_uppercase:
            text = f"{first}{second}123456C"
            try:
                NINumber.parse(text)
                accepted = True
            except IdentifierError:
                accepted = False
            assert accepted == bool(re.fullmatch(NINumber.PATTERN, text)), text


# --- PNC century rule and value behaviour ----------------------------------------------


def test_pnc_two_digit_year_pivot() -> None:
    last_2000s = PNC_CENTURY_PIVOT - 1
    below = f"{last_2000s:02d}/1{pnc_check_char(last_2000s, 1)}"
    at = f"{PNC_CENTURY_PIVOT:02d}/1{pnc_check_char(PNC_CENTURY_PIVOT, 1)}"
    assert PNCId.parse(below).year == 2000 + last_2000s
    assert PNCId.parse(at).year == 1900 + PNC_CENTURY_PIVOT
    # A four-digit year is kept, even where its short form would expand to another century.
    old = PNCId.parse(f"1920/0000001{pnc_check_char(20, 1)}")
    assert old.year == 1920
    assert PNCId.parse(old.short).year == 2020


def test_pnc_accepts_spellings_of_one_id() -> None:
    spellings = ["81/34U", "81/0000034u", "8134U", "19810000034U", "1981/34U", " 1981/0000034U\n"]
    assert {PNCId.parse(s) for s in spellings} == {"1981/0000034U"}


def test_values_are_canonical_strings() -> None:
    pnc = PNCId("81/34U")  # the constructor validates too: no invalid instance can exist
    assert pnc == PNCId.parse("1981/0000034U") == "1981/0000034U"
    assert hash(pnc) == hash("1981/0000034U")
    assert str(pnc) == "1981/0000034U" and type(str(pnc)) is str
    assert repr(pnc) == "PNCId('1981/0000034U')"
    assert pickle.loads(pickle.dumps(pnc)) == pnc
    with pytest.raises(AttributeError):
        pnc.note = "x"  # type: ignore[attr-defined]
    with pytest.raises(IdentifierError):
        PNCId("81/34V")
    with pytest.raises(TypeError):
        PNCId(81)  # type: ignore[arg-type]


def test_error_is_a_value_error_and_pickles() -> None:
    error = rejected(PNCId, "2001/0171310S")
    assert isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert (again.kind, again.value, again.part, str(again)) == (
        error.kind,
        error.value,
        error.part,
        str(error),
    )


def test_check_helpers() -> None:
    assert pnc_check_char(1981, 34) == pnc_check_char(81, 34) == pnc_check_char(2081, 34) == "U"
    assert cro_check_char(91, 65656) == "H"
    assert cro_check_char(5, 482703, sf=True) == "J"
    # The SF check runs over the serial as written: a leading zero changes the number.
    assert cro_check_char(5, 12345, sf=True, serial_text="012345") == mod23_check_char(5012345)
    assert cro_check_char(5, 12345, sf=True) == mod23_check_char(512345)
    with pytest.raises(ValueError):
        cro_check_char(5, 12345, sf=True, serial_text="12346")
    with pytest.raises(ValueError):
        cro_check_char(5, 12345, serial_text="012345")
    with pytest.raises(ValueError):
        pnc_check_char(81, 10_000_000)
    with pytest.raises(ValueError):
        asn_check_char("2202XC020000000021")
    with pytest.raises(ValueError):
        nhs_check_digit("12345678")
    with pytest.raises(ValueError):
        mod23_check_char(-1)


def test_identifier_types_and_parse_identifier() -> None:
    assert set(IDENTIFIER_TYPES) == {
        "PNC", "CRO", "ASN", "URN", "CCRN", "OFFENCE", "NOMS", "CRN", "NHS", "ULN", "NINO"
    }  # fmt: skip
    assert IDENTIFIER_TYPES["NOMS"] is PrisonNumber
    value = parse_identifier("PNC", "81/34U")
    assert isinstance(value, PNCId) and value == "1981/0000034U"
    assert parse_identifier("NOMS", "a1234bc") == "A1234BC"
    for code in ("XYZ", "pnc"):
        with pytest.raises(IdentifierError) as caught:
            parse_identifier(code, "81/34U")
        assert caught.value.part == "type"
        assert str(caught.value).startswith(f"identifier type '{code}': unknown type code")
    with pytest.raises(IdentifierError):
        parse_identifier("CRN", "A1234BC")


# --- Generated identifiers ----------------------------------------------------------------

DIGITS = string.digits
LETTERS = string.ascii_uppercase
ALNUM = DIGITS + LETTERS


@st.composite
def pnc_ids(draw: st.DrawFn) -> str:
    # Years whose short form expands back to the same century, so short forms round-trip.
    year = draw(st.integers(1900 + PNC_CENTURY_PIVOT, 1999 + PNC_CENTURY_PIVOT))
    serial = draw(st.integers(1, 9_999_999))
    return f"{year}/{serial:07d}{pnc_check_char(year, serial)}"


@st.composite
def cro_numbers(draw: st.DrawFn) -> str:
    year = draw(st.integers(0, 99))
    if draw(st.booleans()):
        serial_text = draw(st.text(DIGITS, min_size=1, max_size=6).filter(lambda s: int(s) > 0))
        check = cro_check_char(year, int(serial_text), sf=True, serial_text=serial_text)
        return f"SF{year:02d}/{serial_text}{check}"
    serial = draw(st.integers(1, 999_999))
    return f"{serial:06d}/{year:02d}{cro_check_char(year, serial)}"


@st.composite
def asns(draw: st.DrawFn) -> str:
    # Force and system codes are mostly numeric in practice; draw both kinds.
    code = st.one_of(
        st.text(DIGITS, min_size=2, max_size=2), st.text(ALNUM, min_size=2, max_size=2)
    )
    year = draw(st.text(DIGITS, min_size=2, max_size=2))
    middle = draw(code) + draw(st.text(ALNUM, min_size=2, max_size=2)) + draw(code)
    sequence = draw(st.integers(0, 10**11 - 1))
    first19 = f"{year}{middle}{sequence:011d}"
    return first19 + asn_check_char(first19)


def ten_digit_numbers(check_digit: Callable[[str], int | None]) -> st.SearchStrategy[str]:
    nine = st.text(DIGITS, min_size=9, max_size=9)
    return nine.filter(lambda first9: check_digit(first9) is not None).map(
        lambda first9: f"{first9}{check_digit(first9)}"
    )


nhs_numbers = ten_digit_numbers(nhs_check_digit)
ulns = ten_digit_numbers(uln_check_digit)

CHECKED = [
    pytest.param(cls, strategy, id=cls.__name__)
    for cls, strategy in [
        (PNCId, pnc_ids()),
        (CRONumber, cro_numbers()),
        (ASN, asns()),
        (NHSNumber, nhs_numbers),
        (ULN, ulns),
    ]
]


def alternatives(char: str) -> str:
    """Every other character that could stand in the same position."""
    pool = DIGITS if char.isdigit() else LETTERS if char.isalpha() else ""
    return pool.replace(char, "")


def substitutions(text: str, positions: range | list[int]) -> list[str]:
    return [text[:i] + other + text[i + 1 :] for i in positions for other in alternatives(text[i])]


@pytest.mark.parametrize(("cls", "strategy"), CHECKED)
@FAST
@given(data=st.data())
def test_generated_values_round_trip(
    cls: type[IdentifierValue], strategy: st.SearchStrategy[str], data: st.DataObject
) -> None:
    text = data.draw(strategy)
    value = cls.parse(text)
    assert value == text
    assert cls.parse(str(value)) == value
    assert cls.parse(f"  {value.lower()} ") == value
    assert re.fullmatch(cls.PATTERN, value)
    for alternative in ("short", "display"):
        if hasattr(value, alternative):
            assert cls.parse(getattr(value, alternative)) == value


@FAST
@given(pnc_ids())
def test_pnc_alternative_spellings_round_trip(text: str) -> None:
    pnc = PNCId.parse(text)
    assert PNCId.parse(text.replace("/", "")) == pnc
    assert PNCId.parse(pnc.short.replace("/", "")) == pnc


@FAST
@given(cro_numbers())
def test_unpadded_cro_serials_parse(text: str) -> None:
    cro = CRONumber.parse(text)
    if not cro.is_sf:
        assert CRONumber.parse(text.lstrip("0")) == cro


@pytest.mark.parametrize(
    "cls", [CaseURN, CourtCaseRef, OffenceCode, PrisonNumber, ProbationCRN, NINumber]
)
@FAST
@given(data=st.data())
def test_pattern_matches_parse_for_format_only_types(
    cls: type[IdentifierValue], data: st.DataObject
) -> None:
    text = data.draw(st.from_regex(cls.PATTERN, fullmatch=True))
    assert cls.parse(text) == text
    assert cls.parse(text.lower()) == text


def test_mod23_detects_any_single_digit_change() -> None:
    # Changing one digit moves the number by d·10^k (0 < |d| < 10); 23 is prime and divides
    # neither d nor 10^k, so the residue always changes. Swapping adjacent digits a, b moves it
    # by (a - b)·9·10^k, which 23 does not divide either.
    assert all(d * 10**k % 23 for d in range(1, 10) for k in range(22))
    assert all(d * 9 * 10**k % 23 for d in range(1, 10) for k in range(22))


@FAST
@given(pnc_ids())
def test_pnc_single_substitutions_are_caught(text: str) -> None:
    # Every position: the check covers YY and serial; century digits fail the 1900-2099 rule.
    for mutant in substitutions(text, range(len(text))):
        with pytest.raises(IdentifierError):
            PNCId.parse(mutant)


@FAST
@given(pnc_ids())
def test_pnc_adjacent_serial_transpositions_are_caught(text: str) -> None:
    for i in range(5, 11):
        if text[i] != text[i + 1]:
            with pytest.raises(IdentifierError):
                PNCId.parse(text[:i] + text[i + 1] + text[i] + text[i + 2 :])


@FAST
@given(cro_numbers())
def test_cro_single_substitutions_are_caught(text: str) -> None:
    for mutant in substitutions(text, range(len(text))):
        with pytest.raises(IdentifierError):
            CRONumber.parse(mutant)


@FAST
@given(asns())
def test_asn_substitutions_in_checked_digits_are_caught(text: str) -> None:
    # Year, sequence and check character are always covered. Force (2-3) and system (6-7)
    # count only when numeric, so only digit-for-digit changes there are guaranteed caught.
    for mutant in substitutions(text, [0, 1, *range(8, 20)]):
        with pytest.raises(IdentifierError):
            ASN.parse(mutant)
    for start in (2, 6):
        if text[start : start + 2].isdigit():
            for i in (start, start + 1):
                for digit in alternatives(text[i]):
                    with pytest.raises(IdentifierError):
                        ASN.parse(text[:i] + digit + text[i + 1 :])


def test_asn_check_does_not_cover_unit_or_lettered_codes() -> None:
    # What the ASN check cannot see, shown rather than assumed: the unit never counts, and a
    # force code turned non-numeric just drops out (undetected when it was 00, 23, 46, 69, 92).
    assert ASN.parse("2202XD0200000000021R")  # unit XC -> XD
    assert ASN.parse("97A0000000000123456K")  # force 00 -> A0
    assert ASN.parse("22FE112200001234560X")  # force FD -> FE


@FAST
@given(nhs_numbers)
def test_nhs_single_substitutions_and_transpositions_are_caught(text: str) -> None:
    for mutant in substitutions(text, range(10)):
        with pytest.raises(IdentifierError):
            NHSNumber.parse(mutant)
    for i in range(9):
        if text[i] != text[i + 1]:
            with pytest.raises(IdentifierError):
                NHSNumber.parse(text[:i] + text[i + 1] + text[i] + text[i + 2 :])


@FAST
@given(ulns)
def test_uln_single_substitutions_are_caught(text: str) -> None:
    for mutant in substitutions(text, range(10)):
        # The one exception: a valid ULN one digit away from the temporary ULN (9999999998).
        if mutant == TEMPORARY_ULN:
            continue
        with pytest.raises(IdentifierError):
            ULN.parse(mutant)


def test_uln_next_to_the_temporary_one() -> None:
    assert ULN.parse("9999999998") and ULN.parse(TEMPORARY_ULN).is_temporary


# --- Pydantic -----------------------------------------------------------------------------


class Holder(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    pnc: PNCId
    cro: CRONumber
    asn: ASN | None = None
    urn: CaseURN
    ccrn: CourtCaseRef
    offences: list[OffenceCode]
    noms: PrisonNumber
    crn: ProbationCRN
    nhs: NHSNumber
    uln: ULN
    nino: NINumber


RAW = {
    "pnc": " 81/34u ",
    "cro": "65656/91h",
    "asn": "97/0000/00/123456K",
    "urn": "61 GD 75282 25",
    "ccrn": "97/1626/008395Q",
    "offences": ["th68001", "COML025c"],
    "noms": "a1234bc",
    "crn": "x123456",
    "nhs": "943 476 5919",
    "uln": "1026893096",
    "nino": "ab 12 34 56 c",
}
CANONICAL = {
    "pnc": "1981/0000034U",
    "cro": "065656/91H",
    "asn": "9700000000000123456K",
    "urn": "61GD7528225",
    "ccrn": "97/1626/008395Q",
    "offences": ["TH68001", "COML025C"],
    "noms": "A1234BC",
    "crn": "X123456",
    "nhs": "9434765919",
    "uln": "1026893096",
    "nino": "AB123456C",
}


def test_pydantic_validates_normalises_and_serialises() -> None:
    holder = Holder.model_validate(RAW)
    assert isinstance(holder.pnc, PNCId) and holder.pnc.short == "81/34U"
    dumped = holder.model_dump()
    assert dumped == CANONICAL
    assert type(dumped["pnc"]) is str
    assert Holder.model_validate_json(holder.model_dump_json()) == holder
    assert Holder.model_validate(dumped) == holder


def test_pydantic_strict_mode_accepts_strings_and_instances() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(strict=True)
        pnc: PNCId

    assert Strict.model_validate({"pnc": "81/34U"}).pnc == "1981/0000034U"
    assert Strict(pnc=PNCId("81/34U")).pnc == "1981/0000034U"


def test_pydantic_error_carries_the_identifier_message() -> None:
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({**RAW, "pnc": "2001/0171310S"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("pnc",)
    assert "PNC ID '2001/0171310S': check character is 'S' but should be 'W'" in error["msg"]
    assert isinstance(error["ctx"]["error"], IdentifierError)
    with pytest.raises(ValidationError):
        Holder.model_validate({**RAW, "noms": 1234})


def test_pydantic_json_schema_has_patterns() -> None:
    properties = Holder.model_json_schema()["properties"]
    for name, cls in [("pnc", PNCId), ("cro", CRONumber), ("nhs", NHSNumber), ("nino", NINumber)]:
        schema = properties[name]
        assert schema["type"] == "string"
        assert schema["pattern"] == cls.PATTERN
        assert schema["description"] == cls.DESCRIPTION
    assert properties["offences"]["items"]["pattern"] == OffenceCode.PATTERN
    assert {"type": "string", "pattern": ASN.PATTERN, "description": ASN.DESCRIPTION} in (
        properties["asn"]["anyOf"]
    )
    # What the model emits satisfies the schema it publishes; looser input need not.
    full_schema = Holder.model_json_schema()
    jsonschema.validate(Holder.model_validate(RAW).model_dump(mode="json"), full_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(RAW, full_schema)
