"""Issuing identifiers in the world, and the valid and broken spellings extracts carry.

Every identifier is issued once from a counter, so no two people share one. Check characters
come from the common model's identifier rules, so issued values always validate; the broken
spellings are checked to fail validation, so a record marked ``bad_id`` truly is malformed.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from onestory.domain.identifiers import (
    IdentifierError,
    asn_check_char,
    cro_check_char,
    nhs_check_digit,
    parse_identifier,
    pnc_check_char,
    uln_check_digit,
)

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_UNUSED = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``, so ids repeat exactly for the same seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class IdentifierMint:
    """Issues every identifier of one world, each unique."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._pnc: dict[int, int] = {}
        self._cro: dict[int, int] = {}
        self._urn: dict[tuple[str, str, int], int] = {}
        self._asn: dict[tuple[str, int], int] = {}
        self._noms = rng.randrange(20_000, 400_000)
        self._crn = rng.randrange(100_000, 300_000)
        self._uln = rng.randrange(10_000_000, 40_000_000)
        self._nhs = rng.randrange(0, 100_000)
        self._nino = rng.randrange(100_000, 300_000)

    def _next(self, counters: dict[Any, int], key: Any, start: tuple[int, int]) -> int:
        value = counters.get(key)
        value = self._rng.randrange(*start) if value is None else value + self._rng.randint(1, 9)
        counters[key] = value
        return value

    def pnc(self, year: int) -> str:
        """A PNC ID first issued in ``year``, canonical ``YYYY/NNNNNNND``."""
        serial = self._next(self._pnc, year, (5_000, 300_000))
        return f"{year}/{serial:07d}{pnc_check_char(year, serial)}"

    def cro(self, year: int) -> str:
        """A CRO number first issued in ``year``; about one in ten in the SF form."""
        serial = self._next(self._cro, year, (1_000, 200_000))
        yy = year % 100
        if self._rng.random() < 0.1:
            text = str(serial)
            return f"SF{yy:02d}/{text}{cro_check_char(yy, serial, sf=True, serial_text=text)}"
        return f"{serial:06d}/{yy:02d}{cro_check_char(yy, serial)}"

    def urn(self, force: str, unit: str, year: int) -> str:
        """A police case URN: force, unit, 5-digit serial and 2-digit year."""
        serial = self._next(self._urn, (force, unit, year), (100, 5_000))
        return f"{force}{unit}{serial % 100_000:05d}{year % 100:02d}"

    def asn(self, force: str, unit: str, year: int) -> str:
        """An Arrest/Summons Number issued by ``force`` in ``year``."""
        sequence = self._next(self._asn, (force, year), (1_000, 90_000))
        first19 = f"{year % 100:02d}{force}{unit}00{sequence:011d}"
        return first19 + asn_check_char(first19)

    def noms(self) -> str:
        """A prison (NOMS) number such as ``A1234BC``."""
        self._noms += self._rng.randint(1, 7)
        block, digits = divmod(self._noms, 10_000)
        first = "AG"[(block // 576) % 2]
        pair = block % 576
        return f"{first}{digits:04d}{_LETTERS[pair // 24]}{_LETTERS[pair % 24]}"

    def crn(self, region_letter: str) -> str:
        """A probation case reference number (nDelius CRN) such as ``X123456``."""
        self._crn += self._rng.randint(1, 9)
        return f"{region_letter}{self._crn % 1_000_000:06d}"

    def uln(self) -> str:
        """A Unique Learner Number with a valid check digit."""
        while True:
            self._uln += self._rng.randint(1, 13)
            first9 = f"1{self._uln % 100_000_000:08d}"
            check = uln_check_digit(first9)
            if check is not None:
                return f"{first9}{check}"

    def nhs(self) -> str:
        """An NHS number in the 999 range that NHS services keep for testing."""
        while True:
            self._nhs += self._rng.randint(1, 3)
            block, serial = divmod(self._nhs, 1_000_000)
            first9 = f"{999 - block % 500:03d}{serial:06d}"
            check = nhs_check_digit(first9)
            if check is not None:
                return f"{first9}{check}"

    def nino(self) -> str:
        """A National Insurance number of the allocated shape."""
        self._nino += self._rng.randint(1, 11)
        while True:
            prefix = self._rng.choice(_NINO_FIRST) + self._rng.choice(_NINO_SECOND)
            if prefix not in _NINO_UNUSED:
                break
        return f"{prefix}{self._nino % 1_000_000:06d}{self._rng.choice('ABCD')}"


# --- how extracts spell identifiers -------------------------------------------------------


def pnc_short(pnc: str) -> str:
    """The short display form ``YY/N…D`` of a canonical PNC ID."""
    return f"{pnc[2:4]}/{int(pnc[5:12])}{pnc[-1]}"


def pnc_spelling(pnc: str, rng: random.Random, *, long_share: float) -> str:
    """A valid spelling of a PNC ID: long form, short form, or either without its slash."""
    text = pnc if rng.random() < long_share else pnc_short(pnc)
    return text.replace("/", "") if rng.random() < 0.08 else text


def asn_display(asn: str) -> str:
    """The display form ``YY/FFUU/SS/N…D`` of an ASN."""
    return f"{asn[:2]}/{asn[2:6]}/{asn[6:8]}/{int(asn[8:19])}{asn[19]}"


def _break_once(value: str, rng: random.Random) -> str:
    how = rng.random()
    if how < 0.4:  # wrong check character
        wrong = rng.choice([c for c in _LETTERS + "IOS" if c != value[-1]])
        return (
            value[:-1] + wrong
            if value[-1].isalpha()
            else value[:-1] + str((int(value[-1]) + rng.randint(1, 9)) % 10)
        )
    if how < 0.65:  # truncated
        return value[: -rng.randint(1, 2)]
    if how < 0.85:  # two neighbouring digits transposed
        spots = [
            i
            for i in range(len(value) - 1)
            if value[i].isdigit() and value[i + 1].isdigit() and value[i] != value[i + 1]
        ]
        if spots:
            i = rng.choice(spots)
            return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    if "0" in value[:-1]:  # the letter O typed for zero
        i = value.index("0")
        return value[:i] + "O" + value[i + 1 :]
    return value[:-1]


def malformed(type_code: str, value: str, rng: random.Random) -> str:
    """``value`` mistyped so that it no longer validates as ``type_code``."""
    for _ in range(8):
        broken = _break_once(value, rng)
        try:
            parse_identifier(type_code, broken)
        except (IdentifierError, ValueError):
            return broken
    return value[: len(value) // 2]
