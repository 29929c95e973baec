"""Who is in the world and what happens to them: offenders' careers and victims' crimes.

The world is made one principal person at a time. An offender gets a career of one or more cases
over the years (repeat offenders come back after each sentence); a victim gets a crime against
them, most with no suspect ever found. Victims and co-defendants are new people where the head
count allows; a few victims are offenders from elsewhere in the world, and a partner abused
again and again is the same victim each time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from onestory.synth.cases import TrueCase
from onestory.synth.journey import CaseBuilder
from onestory.synth.offences import (
    OFFENCE_WEIGHTS,
    OFFENCES,
    PERSON_OFFENCE_WEIGHTS,
    PERSON_OFFENCES,
    OffenceType,
)
from onestory.synth.organisations import FORCE_BY_CODE
from onestory.synth.people import PersonFactory, TruePerson
from onestory.synth.victims import VictimDesk, VictimRole

_AGE_BANDS = ((15, 17, 10.0), (18, 24, 30.0), (25, 34, 30.0), (35, 44, 18.0), (45, 64, 12.0))
_CAREER_LENGTHS = ((1, 2, 3, 4, 5, 6, 8), (60, 17, 9, 5, 4, 3, 2))
_GROUP_OFFENCES = frozenset({"TH68023", "TH68036", "TH68037", "TH68010", "PU86003", "MD71230"})


@dataclass
class Group:
    """One principal person's part of the world: the people it made and their cases."""

    people: list[TruePerson] = field(default_factory=list)
    cases: list[TrueCase] = field(default_factory=list)


def _years(day: date, years: int) -> date:
    return date(day.year - years, day.month, min(day.day, 28))


class Population:
    """Makes the world's people and cases, principal by principal, within a head count."""

    def __init__(
        self,
        rng: random.Random,
        factory: PersonFactory,
        builder: CaseBuilder,
        desk: VictimDesk,
        *,
        people: int,
        until: date,
    ) -> None:
        self._rng = rng
        self._factory = factory
        self._builder = builder
        self._desk = desk
        self._budget = people
        self._until = until
        self.window_start = _years(until, 10)
        self.made = 0
        self._offenders: list[TruePerson] = []  # a bounded sample, for victims who offend too
        self._group = Group()

    def remaining(self) -> int:
        """How many more people the world may have."""
        return self._budget - self.made

    def _new(
        self, *, force: str, born_from: date, born_to: date, sex: str | None = None
    ) -> TruePerson | None:
        if self.made >= self._budget:
            return None
        self.made += 1
        person = self._factory.make(force=force, born_from=born_from, born_to=born_to, sex=sex)
        self._group.people.append(person)
        return person

    def next_group(self) -> Group:
        """Make the next principal person and everything that happens around them."""
        self._group = Group()
        rng = self._rng
        force = self._factory.pick_force()
        first_on = self.window_start + timedelta(
            days=rng.randrange((self._until - self.window_start).days - 20)
        )
        if rng.random() < 0.45:
            low, high, _ = rng.choices(_AGE_BANDS, [w for *_, w in _AGE_BANDS])[0]
            person = self._new(
                force=force,
                born_from=_years(first_on, high + 1),
                born_to=_years(first_on, low),
                sex="M" if rng.random() < 0.82 else "F",
            )
            assert person is not None
            self._career(person, first_on, None)
        else:
            victim = self._new(
                force=force, born_from=_years(first_on, 85), born_to=_years(first_on, 8)
            )
            assert victim is not None
            repeat = rng.random() < 0.05
            crimes = rng.randint(2, 4) if repeat else rng.choices((1, 2, 3), (70, 20, 10))[0]
            on = first_on
            for _ in range(crimes):
                if on > self._until - timedelta(days=10):
                    break
                self._victim_story(victim, on, repeat=repeat)
                on += timedelta(days=rng.randint(20, 300))
        return self._group

    def _victim_story(self, victim: TruePerson, on: date, *, repeat: bool) -> None:
        rng = self._rng
        offence = rng.choices(PERSON_OFFENCES, PERSON_OFFENCE_WEIGHTS)[0]
        force = victim.address_at(on).force
        domestic = rng.random() < offence.domestic
        if rng.random() < 0.25:
            suspect = self._new(
                force=force,
                born_from=_years(on, 60),
                born_to=_years(on, 16),
                sex="M" if rng.random() < 0.8 else "F",
            )
            if suspect is not None:
                role = self._desk.make(
                    victim,
                    offence=offence,
                    offence_on=on,
                    force=force,
                    domestic=domestic,
                    repeat=repeat,
                )
                self._career(suspect, on, (offence, role))
                return
        role = self._desk.make(
            victim, offence=offence, offence_on=on, force=force, domestic=domestic, repeat=repeat
        )
        self._case(force, [offence], on, [], [role], domestic)

    def _career(
        self, person: TruePerson, first_on: date, first: tuple[OffenceType, VictimRole] | None
    ) -> None:
        rng = self._rng
        length = rng.choices(*_CAREER_LENGTHS)[0]
        on = first_on
        partner: VictimRole | None = None
        for index in range(length):
            if on > self._until - timedelta(days=14):
                break
            force = (
                person.address_at(on).force if rng.random() < 0.9 else self._factory.pick_force()
            )
            if index == 0 and first is not None:
                offence, victim = first
                victims = [victim]
                domestic = "domestic_abuse" in victim.reasons
            else:
                offence = rng.choices(OFFENCES, OFFENCE_WEIGHTS)[0]
                domestic = rng.random() < offence.domestic
                victims, partner = self._victims(person, offence, on, force, domestic, partner)
            offences = [offence]
            if rng.random() < 0.2:
                extra = rng.choices(OFFENCES, OFFENCE_WEIGHTS)[0]
                if extra.code != offence.code and extra.mode != "indictable":
                    offences.append(extra)
            suspects = [person]
            if offence.code in _GROUP_OFFENCES and rng.random() < 0.15:
                other = self._new(
                    force=force,
                    born_from=_years(on, 45),
                    born_to=_years(on, 16),
                    sex="M" if rng.random() < 0.85 else "F",
                )
                if other is not None:
                    suspects.append(other)
            case = self._case(force, offences, on, suspects, victims, domestic)
            if case is None:
                break
            self._remember(person)
            free = case.suspects[0].free_from or on
            on = max(on, free) + timedelta(days=rng.randint(30, 700))

    def _victims(
        self,
        person: TruePerson,
        offence: OffenceType,
        on: date,
        force: str,
        domestic: bool,
        partner: VictimRole | None,
    ) -> tuple[list[VictimRole], VictimRole | None]:
        rng = self._rng
        if offence.victim != "person":
            return [], partner
        if domestic and partner is not None:
            again = self._desk.make(
                partner.person,
                offence=offence,
                offence_on=on,
                force=force,
                domestic=True,
                repeat=True,
            )
            return [again], partner
        victims: list[VictimRole] = []
        for _ in range(2 if rng.random() < 0.1 else 1):
            chosen: TruePerson | None = None
            if self._offenders and rng.random() < 0.07:
                candidate = rng.choice(self._offenders)
                if candidate is not person and candidate.age_on(on) >= 12:
                    chosen = candidate
            if chosen is None:
                if domestic:
                    age = person.age_on(on)
                    chosen = self._new(
                        force=force,
                        born_from=_years(on, age + 8),
                        born_to=_years(on, max(16, age - 8)),
                        sex="F" if person.sex == "M" or rng.random() < 0.2 else "M",
                    )
                else:
                    chosen = self._new(force=force, born_from=_years(on, 85), born_to=_years(on, 8))
            if chosen is None:
                continue
            role = self._desk.make(
                chosen, offence=offence, offence_on=on, force=force, domestic=domestic, repeat=False
            )
            victims.append(role)
            if domestic:
                partner = role
        return victims, partner

    def _case(
        self,
        force: str,
        offences: list[OffenceType],
        on: date,
        suspects: list[TruePerson],
        victims: list[VictimRole],
        domestic: bool,
    ) -> TrueCase | None:
        rng = self._rng
        main = offences[0]
        delay = rng.choice((0, 0, 0, 1, 1, 2, 3, 5, 9, 20, 45))
        if main.sexual and rng.random() < 0.3:
            delay = rng.randint(30, 1500)
        reported = on + timedelta(days=delay)
        if reported > self._until:
            return None
        case = self._builder.build(
            force=FORCE_BY_CODE[force],
            offences=offences,
            offence_on=on,
            reported_on=reported,
            suspects=suspects,
            victims=victims,
            domestic=domestic,
        )
        self._group.cases.append(case)
        return case

    def _remember(self, person: TruePerson) -> None:
        if len(self._offenders) < 5000:
            self._offenders.append(person)
        else:
            self._offenders[self._rng.randrange(5000)] = person
