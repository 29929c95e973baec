"""Victims of the world: their needs and wishes, and how promptly agencies keep them informed.

Each organisation gets its own habit of meeting the Victims' Code time limits, drawn once per
world, so compliance statistics computed later have real differences between agencies to find.
Most duties are met in time; some late; a few never.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from onestory.synth.calendar import add_working_days, working_days_between
from onestory.synth.offences import OffenceType
from onestory.synth.people import TruePerson

# duty -> (standard limit, enhanced limit) in working days, from the Victims' Code summaries.
DUTY_LIMITS: dict[str, tuple[int, int]] = {
    "R6.1": (5, 1),  # police: suspect arrested, interviewed, bailed or released
    "R6.2": (5, 1),  # police: decision not to investigate (here: closed, no suspect)
    "R6.3": (5, 1),  # police: charged, cautioned, out-of-court disposal or no further action
    "R6.4": (5, 1),  # CPS: charge dropped or altered, discontinued, no evidence offered
    "R8.2": (1, 1),  # Witness Care Unit: hearing listed
    "R9.1": (1, 1),  # Witness Care Unit: case outcome
    "R9.2": (1, 1),  # Witness Care Unit: sentence
}

LANGUAGES = (
    ("en", 88.0),
    ("pl", 2.0),
    ("ro", 1.5),
    ("ur", 1.5),
    ("pa", 1.0),
    ("bn", 1.0),
    ("ar", 1.0),
    ("so", 0.8),
    ("lt", 0.6),
    ("pt", 0.6),
    ("tr", 0.5),
    ("bsl", 0.5),
)
ACCESSIBILITY = (
    "large_print",
    "easy_read",
    "bsl_interpreter",
    "wheelchair_access",
    "hearing_loop",
    "screen_reader",
)
DISABILITIES = (
    "learning disability",
    "hearing impairment",
    "visual impairment",
    "mental health condition",
    "mobility impairment",
    "autism",
)
CHANNELS = ("phone", "email", "text", "letter", "in_person")
SAFE_TIMES = (
    "weekdays 9am to 12pm",
    "weekdays after 6pm",
    "weekends only",
    "mornings only",
    "not between 3pm and 6pm",
)


@dataclass(slots=True)
class VictimRole:
    """A person as the victim of one case, with what they need from agencies."""

    victim_id: str
    person: TruePerson
    reasons: tuple[str, ...]
    language: str
    interpreter: bool
    accessibility: tuple[str, ...]
    disability: str | None
    channels: tuple[str, ...]
    safe_times: str | None
    no_messages: bool

    @property
    def enhanced(self) -> bool:
        """Whether the Code's enhanced rights apply."""
        return bool(self.reasons)


@dataclass(slots=True)
class Notice:
    """A Victims' Code duty owed to one victim, and when (if ever) it was met."""

    duty: str
    victim: VictimRole
    owner: str  # organisation code owing the duty
    trigger: tuple[object, ...]  # what happened, as a key the event writer can resolve
    trigger_on: date
    due: date
    informed_on: date | None
    minute: int
    channel: str
    outcome: str  # on_time, late, never or pending (not yet due by the end of the world)
    working_days: int | None


class VictimDesk:
    """Makes victims of cases and schedules what agencies tell them."""

    def __init__(self, rng: random.Random, *, until: date, welsh_forces: frozenset[str]) -> None:
        self._rng = rng
        self._until = until
        self._welsh = welsh_forces
        self._habits: dict[str, float] = {}
        self._count = 0

    def habit(self, owner: str) -> float:
        """How often ``owner`` meets the time limit (drawn once per organisation)."""
        if owner not in self._habits:
            self._habits[owner] = min(0.97, max(0.45, self._rng.gauss(0.8, 0.1)))
        return self._habits[owner]

    def make(
        self,
        person: TruePerson,
        *,
        offence: OffenceType,
        offence_on: date,
        force: str,
        domestic: bool,
        repeat: bool,
    ) -> VictimRole:
        """``person`` as a victim of ``offence``, with needs, wishes and enhanced-rights reasons."""
        rng = self._rng
        self._count += 1
        reasons: list[str] = []
        if domestic:
            reasons.append("domestic_abuse")
        if offence.sexual:
            reasons.append("sexual_offence")
        elif offence.serious:
            reasons.append("serious_crime")
        if person.age_on(offence_on) < 18:
            reasons.append("under_18")
        if rng.random() < 0.06:
            reasons.append("vulnerable_intimidated")
        if repeat:
            reasons.append("persistently_targeted")
        if offence.serious and rng.random() < 0.05:
            reasons.append("bereaved")
        if force in self._welsh and person.origin == "cy" and rng.random() < 0.4:
            language = "cy"
        elif person.origin in ("en_GB", "cy", "ie"):
            language = "bsl" if rng.random() < 0.004 else "en"
        else:
            language = rng.choices([k for k, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]
        interpreter = language not in ("en", "cy") and rng.random() < 0.8
        accessibility = tuple(rng.sample(ACCESSIBILITY, 1)) if rng.random() < 0.07 else ()
        if language == "bsl":
            accessibility = ("bsl_interpreter",)
        disability = rng.choice(DISABILITIES) if rng.random() < 0.1 else None
        channels = tuple(rng.sample(CHANNELS, rng.choice((1, 1, 2, 2, 3))))
        no_messages = (domestic and rng.random() < 0.7) or rng.random() < 0.03
        safe_times = rng.choice(SAFE_TIMES) if domestic or rng.random() < 0.1 else None
        return VictimRole(
            victim_id=f"V{force}{self._count:07d}",
            person=person,
            reasons=tuple(reasons),
            language=language,
            interpreter=interpreter,
            accessibility=accessibility,
            disability=disability,
            channels=channels,
            safe_times=safe_times,
            no_messages=no_messages,
        )

    def notice(
        self,
        duty: str,
        victim: VictimRole,
        *,
        owner: str,
        trigger: tuple[object, ...],
        trigger_on: date,
    ) -> Notice:
        """When ``owner`` tells ``victim`` what the duty requires, if it ever does."""
        rng = self._rng
        standard, enhanced = DUTY_LIMITS[duty]
        limit = enhanced if victim.enhanced else standard
        due = add_working_days(trigger_on, limit)
        minute = rng.randrange(9 * 60, 17 * 60 + 30)
        channel = victim.channels[0] if victim.channels else "letter"
        roll = rng.random()
        if roll < self.habit(owner):
            informed: date | None = add_working_days(trigger_on, rng.randint(0, limit))
        elif roll < self.habit(owner) + (1 - self.habit(owner)) * 0.7:
            informed = add_working_days(trigger_on, limit + rng.choice((1, 1, 2, 3, 5, 8, 15)))
        else:
            informed = None
        if informed is not None and informed > self._until:
            informed = None
        if informed is None:
            outcome = "pending" if due >= self._until else "never"
            days = None
        else:
            days = working_days_between(trigger_on, informed)
            outcome = "on_time" if informed <= due else "late"
        return Notice(
            duty, victim, owner, trigger, trigger_on, due, informed, minute, channel, outcome, days
        )
