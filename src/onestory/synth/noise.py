"""The errors real extracts have, applied record by record with their configured rates.

Each method takes the list of noise kinds applied to the record so far and appends the kinds it
applies, so the ground truth can say exactly what was done to every record. Noise draws come
from their own random stream: the same seed gives the same world whatever the rates.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from onestory.synth.identifiers import malformed
from onestory.synth.names import name_variants, origins, strip_diacritics
from onestory.synth.people import TruePerson
from onestory.synth.places import Address
from onestory.synth.rates import NoiseRates

_KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv", "g": "fhtb",
    "h": "gjyn", "j": "hkum", "k": "jli", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip


def typo(text: str, rng: random.Random) -> str:
    """``text`` with one slip: a neighbouring key, an extra or lost letter, or two swapped."""
    if len(text) < 3:
        return text + text[-1:]
    i = rng.randrange(1, len(text))  # the first letter is usually typed right
    how = rng.random()
    char = text[i]
    if how < 0.35:
        near = _KEYBOARD.get(char.lower())
        if near:
            sub = rng.choice(near)
            return text[:i] + (sub.upper() if char.isupper() else sub) + text[i + 1 :]
        return text[:i] + text[i + 1 :]
    if how < 0.55:
        return text[:i] + char + text[i:]
    if how < 0.8:
        return text[:i] + text[i + 1 :]
    if i == len(text) - 1:
        i -= 1
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


class Noiser:
    """Applies each kind of noise at its rate, recording what it applied."""

    def __init__(self, rates: NoiseRates, rng: random.Random) -> None:
        self.rates = rates
        self.rng = rng
        self._rate = rates.as_dict()
        self._gb = origins()["en_GB"]

    def hit(self, kind: str, kinds: list[str]) -> bool:
        """Whether noise ``kind`` applies this time; if so it is recorded in ``kinds``."""
        rate = self._rate[kind]
        if rate and self.rng.random() < rate:
            kinds.append(kind)
            return True
        return False

    def name(self, person: TruePerson, day: date, kinds: list[str], *,
             alias_allowed: bool = False) -> tuple[str, str, str]:  # fmt: skip
        """(forename, middle names, surname) as this record has them on ``day``."""
        rng = self.rng
        forename = person.forenames[0]
        middle = " ".join(person.forenames[1:])
        surname = person.surname_at(day)
        if alias_allowed and self.hit("alias", kinds):
            if person.alias is None:
                pool = self._gb.male if person.sex == "M" else self._gb.female
                person.alias = (pool.pick(rng), self._gb.surname_male.pick(rng))
            forename, surname = person.alias
            middle = ""
        other = person.other_surname(day)
        if other and "alias" not in kinds and self.hit("surname_change", kinds):
            surname = other
        if ("-" in surname or " " in surname) and self.hit("hyphenation", kinds):
            parts = surname.replace("-", " ").split()
            surname = rng.choice((parts[0], parts[-1], "".join(parts), " ".join(parts)))
        variants = name_variants(forename)
        if variants and self.hit("nickname", kinds):
            forename = rng.choice(variants)
        if self.hit("name_swap", kinds):
            forename, surname = surname, forename
        if not (forename + middle + surname).isascii() and self.hit("diacritics", kinds):
            forename, middle, surname = (strip_diacritics(t) for t in (forename, middle, surname))
        if self.hit("typo", kinds):
            if rng.random() < 0.5:
                forename = typo(forename, rng)
            else:
                surname = typo(surname, rng)
        return forename, middle, surname

    def messy(self, kinds: list[str], texts: list[str]) -> list[str]:
        """One of ``texts`` with odd capitals, spacing or punctuation."""
        if not self.hit("case_whitespace", kinds):
            return texts
        rng = self.rng
        out = list(texts)
        candidates = [i for i, t in enumerate(out) if t]
        if not candidates:
            return out
        i = rng.choice(candidates)
        text = out[i]
        how = rng.random()
        if "'" in text and how < 0.5:
            text = text.replace("'", rng.choice(("", " ", "`")))
        elif how < 0.3:
            text = text.lower()
        elif how < 0.55:
            text = text.upper() if not text.isupper() else text.title()
        elif how < 0.8:
            text = rng.choice((f" {text}", f"{text} ", text.replace(" ", "  ") + " "))
        else:
            text = text.replace(" ", "") if " " in text else f"{text}  "
        out[i] = text
        return out

    def dob(self, dob: date, kinds: list[str]) -> date:
        """The date of birth as recorded: now and then transposed or a day or year out."""
        if dob.day <= 12 and dob.day != dob.month and self.hit("dob_transposed", kinds):
            return date(dob.year, dob.day, dob.month)
        if self.hit("dob_error", kinds):
            if self.rng.random() < 0.5:
                return dob + timedelta(days=self.rng.choice((-1, 1)))
            year = dob.year + self.rng.choice((-1, 1, -10, 10))
            return date(year, dob.month, min(dob.day, 28))
        return dob

    def blank(self, kinds: list[str], count: int) -> int | None:
        """The index of one of ``count`` values to leave blank, if a value goes missing."""
        return self.rng.randrange(count) if count and self.hit("missing_value", kinds) else None

    def identifiers(self, kinds: list[str], values: dict[str, str]) -> dict[str, str]:
        """``values`` (type code -> value) with one left blank or mistyped now and then."""
        present = [k for k, v in values.items() if v]
        if not present:
            return values
        out = dict(values)
        if self.hit("missing_id", kinds):
            out[self.rng.choice(present)] = ""
            present = [k for k in present if out[k]]
        if present and self.hit("bad_id", kinds):
            key = self.rng.choice(present)
            out[key] = malformed(key, out[key], self.rng)
        return out

    def address(self, person: TruePerson, day: date, kinds: list[str]) -> Address:
        """The address as recorded on ``day``: now and then one the person had already left."""
        index = person.address_index(day)
        if index and self.hit("stale_address", kinds):
            return person.addresses[self.rng.randrange(index)]
        return person.addresses[index]
