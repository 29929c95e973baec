"""How much noise each agency extract carries: one rate per kind of error real extracts have."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Self


@dataclass(frozen=True)
class NoiseRates:
    """The probability, per extract record where the kind can apply, of each kind of noise.

    A kind applies only where it can: ``nickname`` needs a forename with a known nickname,
    ``surname_change`` a person whose surname changed, ``encoding`` a police row holding a
    non-ASCII character. Events never carry noise: agencies' event feeds are validated.
    """

    typo: float = 0.04
    """One slip in a forename or surname: substitution, insertion, deletion or transposition."""
    nickname: float = 0.08
    """The forename as a nickname, short form or variant spelling (Bill for William)."""
    alias: float = 0.02
    """An alias name the person gave, instead of their own (suspects and offenders only)."""
    name_swap: float = 0.01
    """Forename and surname swapped."""
    surname_change: float = 0.25
    """A person whose surname changed (marriage) recorded under the other surname."""
    hyphenation: float = 0.3
    """A hyphenated or double-barrelled surname cut to one part, or its hyphen dropped."""
    diacritics: float = 0.5
    """Accents dropped (Siân as Sian, Łukasz as Lukasz)."""
    case_whitespace: float = 0.05
    """Inconsistent capitals, spaces or apostrophes in names and postcodes."""
    dob_transposed: float = 0.01
    """Day and month of the date of birth swapped (only where both are 12 or less)."""
    dob_error: float = 0.01
    """A date of birth a day or a year out."""
    missing_value: float = 0.03
    """Date of birth or postcode left blank."""
    missing_id: float = 0.08
    """An identifier the person has, left blank."""
    bad_id: float = 0.02
    """An identifier mistyped so that it no longer validates (check character, truncation)."""
    stale_address: float = 0.12
    """An address the person had left by the time of the record."""
    encoding: float = 0.02
    """A police.csv row with non-ASCII text written in cp1252 inside the UTF-8 file."""
    broken_quoting: float = 0.003
    """A CSV row whose field holding a comma was written without quotes."""
    split_identity: float = 0.02
    """Common Platform gave a known defendant a new masterDefendantId for this case."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"noise rate {field.name!r} must be a number (got {value!r})")
            if math.isnan(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"noise rate {field.name!r} must be between 0 and 1 (got {value})")

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        """The names of the noise kinds, in a fixed order."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def none(cls) -> Self:
        """No noise at all: every extract record is clean."""
        return cls(**dict.fromkeys(cls.kinds(), 0.0))

    @classmethod
    def parse(cls, spec: str) -> Self:
        """Rates from a CLI string such as ``typo=0.05,nickname=0.1``; unnamed kinds keep defaults.

        ``all=R`` sets every kind first, so ``all=0,typo=0.2`` means typos only.
        """
        rates = cls()
        overrides: dict[str, float] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key, sep, text = (s.strip() for s in item.partition("="))
            if not sep or not key:
                raise ValueError(
                    f"noise setting {item!r} should look like kind=rate, e.g. typo=0.05"
                )
            if key != "all" and key not in cls.kinds():
                known = ", ".join(cls.kinds())
                raise ValueError(f"unknown noise kind {key!r}; known kinds: all, {known}")
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"noise rate for {key!r} must be a number between 0 and 1 (got {text!r})"
                ) from None
            if key == "all":
                rates = replace(rates, **dict.fromkeys(cls.kinds(), value))
            else:
                overrides[key] = value
        return replace(rates, **overrides)

    def as_dict(self) -> dict[str, float]:
        """The rates by kind."""
        return asdict(self)
