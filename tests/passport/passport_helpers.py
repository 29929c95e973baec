"""Building blocks the passport tests share: learners as the exchange and the person index leave
them (learning records and custody stays linked to one person each), the organisations and
accounts of the people who use the passport, and this instance's issuer.

A module of its own (not ``conftest``) so test modules can import it by a name unique in the
repository; ``conftest.py`` wraps it in fixtures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from onestory.domain.custody import CustodyEpisode, ReceptionReason
from onestory.domain.identifiers import ULN, PrisonNumber
from onestory.domain.learning import LearningOutcome, LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.linkage.tables import Person, PersonMember
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount

PASSWORD = "correct horse battery staple"
ORGANISATIONS = (
    ("EDU-NOVUS", "Novus", "education"),
    ("LEI", "HMP Leeds", "prison"),
    ("PRB-NE", "Probation Service North East", "probation"),
    ("EMP-1", "Bright Futures Construction Ltd", "employer"),
)
# (email, display name, role, organisation code)
STAFF = (
    ("tutor@novus.test", "Tess Tutor", "education_provider", "EDU-NOVUS"),
    ("officer@leeds.test", "Olu Officer", "prison_officer", "LEI"),
    ("pp@probation.test", "Pat Practitioner", "probation_officer", "PRB-NE"),
    ("hr@brightfutures.test", "Hana Hire", "employer_verifier", "EMP-1"),
    ("admin@onestory.test", "Ada Admin", "administrator", None),
)


@dataclass(frozen=True)
class Course:
    """One course a learner took."""

    course: str
    qualification: str | None
    level: str | None
    awarding_body: str | None
    started_on: date
    completed_on: date | None
    outcome: str


@dataclass(frozen=True)
class Learner:
    """A linked person with learning records (``record_ids`` in the order of ``courses``)."""

    person_id: str
    forenames: str
    surname: str
    prison_number: str
    uln: str
    record_ids: tuple[str, ...]
    account_email: str | None

    @property
    def name(self) -> str:
        return f"{self.forenames} {self.surname}"


DEFAULT_COURSES = (
    Course(
        "Maths",
        "Functional Skills Qualification in Mathematics at Level 1",
        "1",
        "Pearson",
        date(2026, 1, 12),
        date(2026, 4, 2),
        "achieved",
    ),
    Course(
        "Construction (CSCS card)",
        "Level 1 Award in Health and Safety in a Construction Environment",
        "1",
        "City & Guilds",
        date(2026, 5, 4),
        date(2026, 5, 15),
        "achieved",
    ),
    Course(
        "Barbering",
        "Level 2 Certificate in Barbering",
        "2",
        "City & Guilds",
        date(2026, 6, 1),
        None,
        "in_progress",
    ),
)


def _record_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def add_organisations_and_staff(session: Session) -> dict[str, int]:
    """The organisations and one account per staff role (committed by the caller); ids by email."""
    orgs = {}
    for code, name, kind in ORGANISATIONS:
        orgs[code] = Organisation(code=code, name=name, kind=kind)
        session.add(orgs[code])
    users = {}
    for email, name, role, org in STAFF:
        users[email] = UserAccount(
            email=email,
            display_name=name,
            role=role,
            organisation=orgs[org] if org else None,
            password_hash=hash_password(PASSWORD),
        )
        session.add(users[email])
    session.flush()
    return {email: user.id for email, user in users.items()}


def add_learner(
    session: Session,
    *,
    person_id: str = "P0000000000000000001",
    forenames: str = "Jordan",
    surname: str = "Reece",
    prison_number: str = "A1234BC",
    uln: str = "9999999999",
    courses: tuple[Course, ...] = DEFAULT_COURSES,
    establishment: str | None = "LEI",
    account_email: str | None = "jordan.reece@example.test",
) -> Learner:
    """A person with learning records (and a custody stay at ``establishment``), all linked to
    ``person_id``, and (when ``account_email``) a learner account; the caller commits."""
    session.add(Person(id=person_id))
    record_ids = []
    for n, course in enumerate(courses):
        rid = _record_id(person_id, "learning", str(n), course.course)
        body: dict[str, Any] = {
            "person": {"names": [{"forenames": [forenames], "surname": surname}]},
            "record": LearningRecord(
                uln=ULN(uln),
                prison_number=PrisonNumber(prison_number),
                provider="Novus",
                course=course.course,
                qualification=course.qualification,
                level=course.level,
                awarding_body=course.awarding_body,
                started_on=course.started_on,
                completed_on=course.completed_on,
                outcome=LearningOutcome(course.outcome),
            ).model_dump(mode="json"),
        }
        session.add(
            AgencyRecord(
                id=rid,
                agency="EDU-NOVUS",
                layout="education-learning",
                kind="education.learning",
                source_name="education.csv",
                record_key=str(n + 2),
                body=body,
                forenames=forenames.upper(),
                surname=surname.upper(),
                prison_number=prison_number,
                uln=uln,
            )
        )
        record_ids.append(rid)
    if establishment:
        rid = _record_id(person_id, "custody")
        session.add(
            AgencyRecord(
                id=rid,
                agency=establishment,
                layout="prison-custody",
                kind="prison.custody",
                source_name="prisons.csv",
                record_key="2",
                body={
                    "person": {"names": [{"forenames": [forenames], "surname": surname}]},
                    "record": CustodyEpisode(
                        prison_number=PrisonNumber(prison_number),
                        establishment=establishment,
                        received_at=datetime(2025, 9, 1, tzinfo=UTC),
                        reason=ReceptionReason.SENTENCED,
                    ).model_dump(mode="json"),
                },
                forenames=forenames.upper(),
                surname=surname.upper(),
                prison_number=prison_number,
            )
        )
        record_ids_all = [*record_ids, rid]
    else:
        record_ids_all = list(record_ids)
    session.flush()
    for rid in record_ids_all:
        session.add(PersonMember(record_id=rid, person_id=person_id, how="new"))
    if account_email:
        session.add(
            UserAccount(
                email=account_email,
                display_name=f"{forenames} {surname}",
                role="learner",
                password_hash=hash_password(PASSWORD),
            )
        )
    session.flush()
    return Learner(
        person_id, forenames, surname, prison_number, uln, tuple(record_ids), account_email
    )
