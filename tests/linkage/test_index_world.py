"""A small synthetic world of agency records for the person-index tests, and its own checks.

People are drawn from a seeded generator; each has records at two to four agencies, with the
noise real extracts carry (a mistyped surname, a nickname, a missing postcode, day and month of
birth swapped). ``truth`` says which records are whose, so tests can ask the index about real
people rather than about whatever the model happened to do.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from onestory.domain.identifiers import pnc_check_char
from onestory.exchange.tables import AgencyRecord
from onestory.linkage import index
from onestory.linkage.tables import LinkageModel

_FORENAMES_WORDS = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher "
    "Daniel Matthew Anthony Mark Paul Steven Andrew Kenneth Joshua Mary Patricia Jennifer "
    "Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra "
    "Ashley Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Laura "
    "Helen Amy"
)
FORENAMES = _FORENAMES_WORDS.split()
_SURNAMES_WORDS = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson "
    "Evans Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James "
    "Phillips Mason Mitchell Rose Davis Rodriguez Cox Alexander Morgan Moore Martin Price "
    "Hughes Edwards Turner Hill Baker Harris Cooper King Lee Ward Morris Carter Bell "
    "Murphy Bailey Kelly"
)
SURNAMES = _SURNAMES_WORDS.split()
NICKNAMES = {"William": "Bill", "Robert": "Bob", "Richard": "Dick", "Elizabeth": "Liz",
             "Margaret": "Maggie", "Thomas": "Tom", "Michael": "Mike", "James": "Jim"}  # fmt: skip
AGENCIES = (
    ("POL01", "police-nominals", "police.suspect"),
    ("CPS", "cps-cases", "cps.defendant"),
    ("COURT", "courts-results", "court.defendant"),
    ("HMP", "prison-custody", "prison.custody"),
    ("PS", "probation-cases", "probation.case"),
)


@dataclass
class World:
    """Records as rows for ``agency_record`` and who each really is."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, int] = field(default_factory=dict)  # record id -> person number

    def records_of(self, person: int) -> list[str]:
        return sorted(r for r, p in self.truth.items() if p == person)


def _pnc(rng: random.Random) -> str:
    year, serial = rng.randint(1990, 2025), rng.randint(1, 9_999_999)
    return f"{year}/{serial:07d}{pnc_check_char(year, serial)}"


def _typo(rng: random.Random, text: str) -> str:
    i = rng.randrange(1, len(text))
    return text[:i] + text[i + 1 :] if rng.random() < 0.5 else text[:i] + "x" + text[i:]


def make_world(people: int, *, seed: int = 1, first: int = 0, noise: float = 0.15) -> World:
    """``people`` people (numbered from ``first``), two to four records each."""
    rng = random.Random(seed * 1_000_003 + first)
    world = World()
    for n in range(first, first + people):
        forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
        middle = rng.choice(FORENAMES) if rng.random() < 0.5 else None
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        sex = "M" if forename in FORENAMES[:20] else "F"
        postcode = f"{rng.choice(['LS', 'M', 'B', 'E', 'NW'])}{rng.randint(1, 20)} " \
            f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"  # fmt: skip
        pnc = _pnc(rng)
        for agency, layout, kind in rng.sample(AGENCIES, rng.randint(2, 4)):
            person: dict[str, Any] = {
                "forenames": f"{forename} {middle}" if middle else forename,
                "surname": surname,
                "date_of_birth": born,
                "sex": sex,
                "postcode": postcode,
                "pnc_id": pnc if layout in ("police-nominals", "courts-results") else None,
                "prison_number": f"A{n:04d}BC" if layout == "prison-custody" else None,
                "probation_crn": f"X{n:06d}" if layout == "probation-cases" else None,
            }
            if rng.random() < noise:
                person["surname"] = _typo(rng, surname)
            if rng.random() < noise and forename in NICKNAMES:
                person["forenames"] = NICKNAMES[forename]
            if rng.random() < noise:
                person["postcode"] = None
            if rng.random() < noise / 2 and born.day <= 12:
                person["date_of_birth"] = date(born.year, born.day, born.month)
            urn = f"{rng.randint(1, 99):02d}AB{rng.randint(1000000, 9999999)}"
            record = {"caseUrn": urn, "offence": rng.choice(["Theft", "Burglary", "Assault"])}
            if kind == "prison.custody":
                record["custodyStart"] = "2025-03-01"
            world.rows.append(row(layout, agency, kind, person, record))
            world.truth[world.rows[-1]["id"]] = n
    return world


def row(
    layout: str, agency: str, kind: str, person: dict[str, Any], record: dict[str, Any]
) -> dict[str, Any]:
    """An ``agency_record`` row as the ingest would write it."""
    key = repr((layout, sorted(person.items()), sorted(record.items())))
    record_id = hashlib.sha256(key.encode()).hexdigest()
    body_person = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in person.items()}
    return {
        "id": record_id,
        "agency": agency,
        "layout": layout,
        "kind": kind,
        "source_name": f"{layout}.csv",
        "record_key": record_id[:12],
        "body": {"person": body_person, "record": record},
        **person,
    }


def insert_world(session: Session, world: World) -> None:
    session.add_all(AgencyRecord(**r) for r in world.rows)
    session.commit()


# One trained model per test process: training is what costs, and what most tests examine is
# the index built with it. The first test trains for real (through ``index.run``).
_TRAINED: dict[str, Any] = {}


def build_index(sessions: sessionmaker[Session], world: World) -> index.RunSummary:
    """The world in the database and the person index built over it."""
    with sessions() as session:
        insert_world(session, world)
        if _TRAINED:
            session.add(LinkageModel(version=1, trained_by="test", **_TRAINED))
            session.commit()
    summary = index.run(sessions, actor="test:linkage")
    if not _TRAINED:
        with sessions() as session:
            stored = index.latest_model(session)
            assert stored is not None
            _TRAINED.update(settings=stored.settings, rows=stored.rows)
    return summary


def test_the_world_is_the_same_for_the_same_seed() -> None:
    assert make_world(20, seed=3).truth == make_world(20, seed=3).truth
    world = make_world(20, seed=3)
    assert len(set(world.truth.values())) == 20
    assert all(2 <= len(world.records_of(n)) <= 4 for n in range(20))
