"""What follows a sentence or a remand: prison stays, probation supervision, learning.

Custodial sentences are served in part: release comes at the halfway point (40% for most
sentences passed from September 2024, two thirds for the most serious), some earlier on home
detention curfew, then licence to the end of the sentence. Long sentences start in a local prison
and move on to a training prison. Learning happens inside those stays and supervisions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from onestory.synth.courses import COURSE_WEIGHTS, COURSES
from onestory.synth.identifiers import IdentifierMint
from onestory.synth.organisations import FORCES, PROVIDER_BY_REGION, Force

if TYPE_CHECKING:
    from onestory.synth.cases import Sentence, SuspectPath

SDS40_FROM = date(2024, 9, 10)
_REGION_OF_PRISON = {
    p: f.probation_region for f in reversed(FORCES) for p in (*f.prisons_men, *f.prisons_women)
}


@dataclass(slots=True)
class Stay:
    """A continuous stay at one establishment."""

    noms: str
    establishment: str
    received_on: date
    reason: str  # remand, sentenced, recall
    released_on: date | None = None
    release_type: str | None = None


@dataclass(slots=True)
class Supervision:
    """A period of supervision by the Probation Service."""

    crn: str
    region: str
    order_type: str
    start: date
    end: date
    ended_on: date | None = None
    end_reason: str | None = None


@dataclass(slots=True)
class Course:
    """One course taken by a learner."""

    provider: str
    course: str
    qualification: str
    level: str
    awarding_body: str
    start: date
    end: date | None
    outcome: str  # a LearningOutcome value
    noms: str | None
    uln: str


class Aftercare:
    """Prison, probation and education for one suspect path."""

    def __init__(self, rng: random.Random, mint: IdentifierMint, *, until: date) -> None:
        self._rng = rng
        self._mint = mint
        self._until = until

    def _prisons(self, path: SuspectPath, force: Force) -> tuple[str, ...]:
        return force.prisons_women if path.person.sex == "F" else force.prisons_men

    def _receive(self, path: SuspectPath, establishment: str, on: date, reason: str) -> Stay:
        person = path.person
        if person.noms is None:
            person.noms = self._mint.noms()
        stay = Stay(person.noms, establishment, on, reason)
        path.stays.append(stay)
        return stay

    def remand(self, path: SuspectPath, force: Force, on: date) -> None:
        """Remanded in custody at a hearing on ``on``."""
        self._receive(path, self._prisons(path, force)[0], on, "remand")

    def bail(self, path: SuspectPath, on: date) -> None:
        """Released from remand on ``on`` (bail granted, acquitted or a non-custodial outcome)."""
        stay = path.stays[-1] if path.stays else None
        if stay is not None and stay.released_on is None and on <= self._until:
            stay.released_on, stay.release_type = on, "bail"
            self._learn(path, stay)

    def after_sentence(
        self, path: SuspectPath, force: Force, sentence: Sentence, *, serious: bool
    ) -> None:
        """Custody, supervision and learning that follow ``sentence``."""
        if sentence.kind == "immediate_custody":
            self._serve(path, force, sentence, serious)
        else:
            self.bail(path, sentence.on)
        if sentence.kind in ("community_order", "suspended_sentence") and sentence.community_months:
            order = (
                "community_order"
                if sentence.kind == "community_order"
                else ("suspended_sentence_order")
            )
            start = sentence.on + timedelta(days=self._rng.randint(1, 10))
            end = start + timedelta(days=int(sentence.community_months * 30.4))
            self._supervise(path, force, order, start, end, breach_risk=0.14)
        path.free_from = max(d for d in (sentence.on, path.free_from) if d is not None)

    def _serve(self, path: SuspectPath, force: Force, sentence: Sentence, serious: bool) -> None:
        rng = self._rng
        months = sentence.custody_months or 1
        length = timedelta(days=int(months * 30.4))
        expiry = sentence.on + length
        if path.stays and path.stays[-1].released_on is None:
            stay = path.stays[-1]  # the remand stay runs on into the sentence
            started = stay.received_on
        else:
            stay = self._receive(path, self._prisons(path, force)[0], sentence.on, "sentenced")
            started = sentence.on
        share = 2 / 3 if serious and months >= 48 else (0.4 if sentence.on >= SDS40_FROM else 0.5)
        release = max(
            sentence.on + timedelta(days=1), started + timedelta(days=int(length.days * share))
        )
        release_type = "licence"
        if 3 <= months <= 48 and rng.random() < 0.3:
            release = max(
                sentence.on + timedelta(days=1), release - timedelta(days=rng.randint(14, 120))
            )
            release_type = "home_detention_curfew"
        prisons = self._prisons(path, force)
        if len(prisons) > 1 and (release - sentence.on).days > 240 and rng.random() < 0.6:
            moved = max(stay.received_on, sentence.on) + timedelta(days=rng.randint(30, 120))
            if moved <= self._until:
                stay.released_on, stay.release_type = moved, "transfer"
                self._learn(path, stay)
                stay = self._receive(path, rng.choice(prisons[1:]), moved, "sentenced")
        path.free_from = release
        if release > self._until:
            self._learn(path, stay)
            return
        stay.released_on, stay.release_type = release, release_type
        self._learn(path, stay)
        licence_end = max(expiry, release + timedelta(days=365))
        recalled = self._supervise(path, force, "licence", release, licence_end, breach_risk=0.12)
        if recalled is not None:
            back = self._receive(path, prisons[0], recalled, "recall")
            out = max(recalled + timedelta(days=28), expiry)
            path.free_from = out
            if out <= self._until:
                back.released_on, back.release_type = out, "end_of_sentence"
            self._learn(path, back)

    def _supervise(
        self,
        path: SuspectPath,
        force: Force,
        order: str,
        start: date,
        end: date,
        *,
        breach_risk: float,
    ) -> date | None:
        """Start supervision; returns the breach date when a licence ends in recall."""
        rng = self._rng
        if start > self._until:
            return None
        person = path.person
        region = force.probation_region
        if person.crn is None:
            person.crn = self._mint.crn(region[3])
        supervision = Supervision(person.crn, region, order, start, end)
        path.supervisions.append(supervision)
        breach = None
        if rng.random() < breach_risk:
            breach = start + timedelta(days=rng.randint(20, max(21, (end - start).days - 1)))
            supervision.ended_on, supervision.end_reason = breach, "breached"
        elif rng.random() < 0.08:
            supervision.ended_on = start + timedelta(
                days=rng.randint(30, max(31, (end - start).days))
            )
            supervision.end_reason = "revoked"
        else:
            supervision.ended_on, supervision.end_reason = end, "completed"
        if supervision.ended_on is not None and supervision.ended_on > self._until:
            supervision.ended_on = supervision.end_reason = None
            breach = None
        if rng.random() < 0.15 and (end - start).days > 150:
            self._courses(path, region, start, supervision.ended_on or end, None, count=1)
        return breach if order == "licence" else None

    def _learn(self, path: SuspectPath, stay: Stay) -> None:
        rng = self._rng
        end = stay.released_on
        if (end or self._until) - stay.received_on < timedelta(days=45):
            return
        count = rng.choices((0, 1, 2, 3), (0.3, 0.35, 0.23, 0.12))[0]
        region = _REGION_OF_PRISON.get(stay.establishment, "PS-LDN")
        self._courses(
            path,
            region,
            stay.received_on + timedelta(days=rng.randint(7, 40)),
            end,
            stay.noms,
            count=count,
        )

    def _courses(
        self,
        path: SuspectPath,
        region: str,
        start: date,
        stop: date | None,
        noms: str | None,
        *,
        count: int,
    ) -> None:
        rng = self._rng
        person = path.person
        for _ in range(count):
            if start > self._until or (stop is not None and start >= stop):
                return
            if person.uln is None:
                person.uln = self._mint.uln()
            kind = rng.choices(COURSES, COURSE_WEIGHTS)[0]
            planned = start + timedelta(weeks=rng.randint(*kind.weeks))
            if stop is not None and planned > stop:
                end: date | None = stop
                outcome = "withdrawn"
            else:
                end = planned
                outcome = rng.choices(
                    ("achieved", "not_achieved", "withdrawn"), (0.72, 0.14, 0.14)
                )[0]
            if end is not None and end > self._until:
                end, outcome = None, "in_progress"
            path.courses.append(
                Course(
                    PROVIDER_BY_REGION[region],
                    kind.course,
                    kind.qualification,
                    kind.level,
                    rng.choice(kind.awarding_bodies),
                    start,
                    end,
                    outcome,
                    noms,
                    person.uln,
                )
            )
            if end is None:
                return
            start = end + timedelta(days=rng.randint(3, 30))
