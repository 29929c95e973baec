"""The true people of the world: who they are, where they lived, what they are called."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta

from onestory.synth.identifiers import IdentifierMint
from onestory.synth.names import ORIGIN_MIX, NamePool, Origin, origins
from onestory.synth.organisations import FORCE_WEIGHTS, FORCES
from onestory.synth.places import WELSH_FORCES, Address, make_address

_AREA_OF_FORCE = {"01": "london", "13": "asian_city", "20": "asian_city", "06": "asian_city"}


@dataclass(slots=True)
class TruePerson:
    """One real person of the world, as no single agency sees them."""

    pid: str
    sex: str
    forenames: tuple[str, ...]
    surname: str
    dob: date
    origin: str
    addresses: list[Address]
    phone: str
    email: str
    nhs: str
    nino: str | None
    married_surname: str | None = None
    married_on: date | None = None
    pnc: str | None = None
    cro: str | None = None
    noms: str | None = None
    crn: str | None = None
    uln: str | None = None
    cp_master_id: str | None = None  # Common Platform masterDefendantId, once in court
    alias: tuple[str, str] | None = None  # an alias (forename, surname), made on first use
    convictions: int = 0
    _moves: list[date] = field(default_factory=list)

    @property
    def forename(self) -> str:
        """The first forename."""
        return self.forenames[0]

    def surname_at(self, day: date) -> str:
        """The surname the person used on ``day``."""
        if self.married_surname and self.married_on and day >= self.married_on:
            return self.married_surname
        return self.surname

    def other_surname(self, day: date) -> str | None:
        """The surname the person did not use on ``day``, if they ever had two."""
        if not self.married_surname:
            return None
        return (
            self.surname if self.surname_at(day) == self.married_surname else (self.married_surname)
        )

    def address_index(self, day: date) -> int:
        """The index in ``addresses`` of the address current on ``day``."""
        return max(0, bisect(self._moves, day) - 1)

    def address_at(self, day: date) -> Address:
        """The address current on ``day``."""
        return self.addresses[self.address_index(day)]

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


def _phone(rng: random.Random) -> str:
    # Ofcom keeps 07700 900000 to 900999 for drama: numbers that reach no one.
    return f"07700 900{rng.randrange(1000):03d}"


class PersonFactory:
    """Makes true people: names by origin, dates of birth, address histories, NHS numbers."""

    def __init__(self, rng: random.Random, mint: IdentifierMint, *, until: date) -> None:
        self._rng = rng
        self._mint = mint
        self._until = until
        self._origins = origins()
        self._mix = {
            area: ([k for k, _ in mix], list(_cumulative([w for _, w in mix])))
            for area, mix in ORIGIN_MIX.items()
        }
        self._force_codes = [f.code for f in FORCES]
        self._force_cum = list(_cumulative(FORCE_WEIGHTS))
        self._count = 0

    def pick_force(self) -> str:
        """A force area, weighted by its share of crime."""
        r = self._rng.random() * self._force_cum[-1]
        return self._force_codes[bisect(self._force_cum, r)]

    def _origin(self, force: str) -> Origin:
        area = "wales" if force in WELSH_FORCES else _AREA_OF_FORCE.get(force, "england")
        keys, cum = self._mix[area]
        return self._origins[keys[bisect(cum, self._rng.random() * cum[-1])]]

    def make(
        self, *, force: str, born_from: date, born_to: date, sex: str | None = None
    ) -> TruePerson:
        """A new person living in the area of ``force``, born between the two dates."""
        rng = self._rng
        self._count += 1
        sex = sex or ("M" if rng.random() < 0.5 else "F")
        origin = self._origin(force)
        forenames_pool = origin.male if sex == "M" else origin.female
        forename = forenames_pool.pick(rng)
        forenames: tuple[str, ...] = (forename,)
        if rng.random() < 0.55:
            middle = forenames_pool.pick(rng)
            if middle != forename:
                forenames = (forename, middle)
        surnames = origin.surname_male if sex == "M" else origin.surname_female
        surname = surnames.pick(rng)
        if origin.key == "en_GB" and rng.random() < 0.025:
            # Hyphenated or double-barrelled: two family names joined.
            joiner = "-" if rng.random() < 0.75 else " "
            surname = f"{surname}{joiner}{surnames.pick(rng)}"
        span = max(1, (born_to - born_from).days)
        dob = born_from + timedelta(days=rng.randrange(span))
        person = TruePerson(
            pid=f"P{self._count:07d}",
            sex=sex,
            forenames=forenames,
            surname=surname,
            dob=dob,
            origin=origin.key,
            addresses=[],
            phone=_phone(rng),
            email="",
            nhs=self._mint.nhs(),
            nino=None,
        )
        adult_on = date(dob.year + 16, dob.month, min(dob.day, 28))
        if adult_on <= self._until:
            person.nino = self._mint.nino()
        self._marriage(person, surnames)
        self._address_history(person, force)
        local = f"{_ascii(forename).lower()}.{_ascii(person.surname_at(self._until)).lower()}"
        person.email = f"{local}{rng.randrange(100)}@example.{rng.choice(('com', 'org', 'net'))}"
        return person

    def _marriage(self, person: TruePerson, surnames: NamePool) -> None:
        rng = self._rng
        wed_from = date(person.dob.year + 20, 1, 1)
        if wed_from >= self._until:
            return
        if rng.random() < (0.4 if person.sex == "F" else 0.02):
            pool = self._origins["en_GB"].surname_male if rng.random() < 0.7 else surnames
            married = pool.pick(rng)
            if married != person.surname:
                person.married_surname = married
                person.married_on = wed_from + timedelta(
                    days=rng.randrange(max(1, (self._until - wed_from).days))
                )

    def _address_history(self, person: TruePerson, force: str) -> None:
        rng = self._rng
        start = person.dob
        moves = [start]
        horizon = (self._until - start).days
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            moves.append(start + timedelta(days=rng.randrange(max(1, horizon))))
        moves.sort()
        home = force
        for index, since in enumerate(moves):
            if index and rng.random() < 0.15:
                home = self.pick_force()
            person.addresses.append(make_address(rng, home, since))
        person._moves = moves


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _ascii(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isalpha()) or "person"
