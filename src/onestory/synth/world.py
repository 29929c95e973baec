"""``write_world``: make a synthetic world and write every agency's extract and the truth."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from onestory.synth.identifiers import IdentifierMint
from onestory.synth.journey import CaseBuilder
from onestory.synth.layouts.courts import COURTS_FILE, CourtsExtract
from onestory.synth.layouts.cps import CPS_FILE, CpsExtract
from onestory.synth.layouts.events import DUTIES_FILE, EVENTS_FILE, EventsOut
from onestory.synth.layouts.hmpps import EDUCATION_FILE, PRISONS_FILE, PROBATION_FILE, HmppsExtracts
from onestory.synth.layouts.police import POLICE_FILE, VICTIMS_FILE, PoliceExtracts
from onestory.synth.layouts.truth import GROUND_TRUTH, TRUTH_CASES, TRUTH_PEOPLE, TruthOut
from onestory.synth.noise import Noiser
from onestory.synth.organisations import organisations
from onestory.synth.output import GENERATOR, WORLD_FILES, prepare, sha256, write_manifest
from onestory.synth.people import PersonFactory
from onestory.synth.places import WELSH_FORCES
from onestory.synth.population import Population
from onestory.synth.rates import NoiseRates
from onestory.synth.victims import VictimDesk

GENERATOR_VERSION = "1"
ORGANISATIONS_FILE = "organisations.json"
_PROGRESS_EVERY = 500


@dataclass(frozen=True)
class WorldSummary:
    """What ``write_world`` wrote: rows per file, people, and how long it took."""

    rows: dict[str, int]
    people: int
    seconds: float
    out_dir: Path = field(default=Path("."))

    @property
    def total_rows(self) -> int:
        """Rows (records) written across every file."""
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data."""
        return {
            "out_dir": str(self.out_dir),
            "people": self.people,
            "rows": dict(self.rows),
            "total_rows": self.total_rows,
            "seconds": round(self.seconds, 3),
        }


def _check(people: int, noise: NoiseRates | None, until: date) -> None:
    if isinstance(people, bool) or not isinstance(people, int):
        raise ValueError(f"people must be a whole number (got {people!r})")
    if people < 1:
        raise ValueError(f"people must be at least 1 (got {people})")
    if noise is not None and not isinstance(noise, NoiseRates):
        raise ValueError(f"noise must be NoiseRates (got {type(noise).__name__})")
    if not isinstance(until, date) or not date(2012, 1, 1) <= until <= date(2100, 12, 31):
        raise ValueError(f"until must be a date between 2012-01-01 and 2100-12-31 (got {until!r})")


def write_world(
    out_dir: Path,
    *,
    people: int,
    seed: int,
    noise: NoiseRates | None = None,
    until: date = date(2026, 10, 31),
    progress: Callable[[int], None] | None = None,
) -> WorldSummary:
    """Generate a world of ``people`` people; write its extracts, events and truth to ``out_dir``.

    The same arguments always give the same bytes. ``progress(n)`` is called as people are
    completed, ``n`` being how many were completed since the last call.
    """
    _check(people, noise, until)
    rates = noise if noise is not None else NoiseRates()
    out_dir = Path(out_dir)
    prepare(out_dir)
    started = time.perf_counter()

    # Separate streams: the world stays the same whatever the noise rates, and ids stay the
    # same whatever noise drew.
    world_rng = random.Random(f"{seed}:world")
    mint = IdentifierMint(world_rng)
    desk = VictimDesk(world_rng, until=until, welsh_forces=WELSH_FORCES)
    population = Population(
        world_rng,
        PersonFactory(world_rng, mint, until=until),
        CaseBuilder(world_rng, mint, desk, until=until),
        desk,
        people=people,
        until=until,
    )
    noiser = Noiser(rates, random.Random(f"{seed}:noise"))

    orgs = organisations()
    (out_dir / ORGANISATIONS_FILE).write_text(
        json.dumps(orgs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    truth = TruthOut(out_dir)
    police = PoliceExtracts(out_dir, noiser, truth)
    cps = CpsExtract(out_dir, noiser, truth, until=until)
    courts = CourtsExtract(out_dir, noiser, truth, until=until)
    hmpps = HmppsExtracts(out_dir, noiser, truth)
    events = EventsOut(out_dir, truth, random.Random(f"{seed}:ids"), until=until)
    pending = 0
    try:
        while population.remaining() > 0:
            group = population.next_group()
            for case in group.cases:
                police.write(case)
                cps.write(case)
                courts.write(case)
                hmpps.write(case)
                events.write(case)
                truth.case(case)
            for person in group.people:
                truth.person(person)
            pending += len(group.people)
            if progress is not None and pending >= _PROGRESS_EVERY:
                progress(pending)
                pending = 0
    finally:
        for writer in (police, cps, courts, hmpps, events, truth):
            writer.close()
    if progress is not None and pending:
        progress(pending)

    rows = {
        ORGANISATIONS_FILE: len(orgs),
        POLICE_FILE: police.suspects.rows,
        VICTIMS_FILE: police.victims.rows,
        CPS_FILE: cps.rows,
        COURTS_FILE: courts.rows,
        PRISONS_FILE: hmpps.prisons.rows,
        PROBATION_FILE: hmpps.probation.lines,
        EDUCATION_FILE: hmpps.education.rows,
        EVENTS_FILE: events.rows,
        GROUND_TRUTH: truth.rows[GROUND_TRUTH],
        TRUTH_PEOPLE: truth.rows[TRUTH_PEOPLE],
        TRUTH_CASES: truth.rows[TRUTH_CASES],
        DUTIES_FILE: events.duty_rows,
    }
    assert set(rows) == set(WORLD_FILES)
    seconds = time.perf_counter() - started
    write_manifest(
        out_dir,
        {
            "generator": GENERATOR,
            "generatorVersion": GENERATOR_VERSION,
            "seed": seed,
            "people": population.made,
            "until": until.isoformat(),
            "noise": rates.as_dict(),
            "files": {
                name: {"rows": rows[name], "sha256": sha256(out_dir / name)} for name in WORLD_FILES
            },
        },
    )
    return WorldSummary(rows=rows, people=population.made, seconds=seconds, out_dir=out_dir)
