"""Completed learning per person, as plain data for the insights work on outcomes after release.

The insights issue asks whether learning in custody goes with better outcomes after release
(employment, further offending). That needs, for each person the index knows, what they learned
and when they left prison; this module gives exactly that and nothing else: one row per linked
person, from three sources read in a few set-wise queries (never one query per person):

- learning records (``agency_record`` of kind ``education.learning``, ``body["record"]`` a
  common-model ``LearningRecord``: course, qualification, level, startedOn, completedOn, outcome);
- custody records (kind ``prison.custody``, ``body["record"]`` a ``CustodyEpisode``:
  establishment, receivedAt, releasedAt);
- the passport's credentials (``passport_credential``), counted per person through the records
  they were issued from.

Who a record is about is the person index's current answer (``person_member``), so a later merge
or split of persons changes these rows the next time they are read.

The fields of ``LearnerLearning`` (and of each ``learning_frame_rows`` row):

``person_id``
    The person index's id. Person-level, so these rows are personal data.
``courses_started``
    Readable learning records for the person, whatever their outcome (one record, one course).
``courses_completed``
    Records whose outcome is ``achieved`` with a completion date: the same test that earns a
    passport credential. Withdrawn, not achieved and in-progress courses are not counted.
``qualifications_by_level``
    Completed courses by the level as recorded (``"1"``, ``"2"``, ``"Entry 3"``...); a completed
    course with no level is counted under ``"unknown"``. The frame rows give the same counts as
    fixed columns (``achieved_entry_level``, ``achieved_level_1`` to ``achieved_level_8``,
    ``achieved_level_other``) so every snapshot has the same schema.
``first_started``
    The earliest start date of any course (None for a person with no readable course).
``last_completed``
    The latest completion date of a completed course (None when none is completed).
``credentials_issued`` / ``credentials_revoked``
    Passport credentials issued from the person's records, and how many of those were revoked
    (a revoked credential is counted in both).
``released_on``
    The latest release date (the day in England) among the person's custody stays. A person still
    in custody on their latest stay may still have an earlier release date here; compare with
    ``in_custody``.
``in_custody``
    Whether any custody record has no release date (the person is, as far as the data says,
    still inside).
``establishments``
    The codes of the establishments of the person's custody records, sorted, each once.
``unreadable_records``
    The person's learning and custody records that do not read as the common model (the API
    keeps what it is sent, so a record's details can be malformed): left out of every other
    field and counted here, so nothing is dropped silently.

These rows are person-level and are never published as they are: the insights issue aggregates
them and suppresses small cells before anything leaves the analysts' environment. The caller
decides who may read them, through ``sharing.authorize`` for the ``statistics`` purpose, as it
would for any other personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.domain.custody import CustodyEpisode
from onestory.domain.learning import LearningOutcome, LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.linkage.tables import PersonMember
from onestory.passport.credentials import CUSTODY_KIND, LEARNING_KIND, LONDON
from onestory.passport.tables import PassportCredential

UNKNOWN_LEVEL: Final = "unknown"
# Frame columns for completed courses by RQF level: a fixed set, so Parquet schemas never drift.
LEVEL_COLUMNS: Final[tuple[str, ...]] = (
    "achieved_entry_level",
    *(f"achieved_level_{n}" for n in range(1, 9)),
    "achieved_level_other",
)
_READ_BATCH: Final = 2_000
_R = TypeVar("_R", bound=BaseModel)


@dataclass
class LearnerLearning:
    """One person's learning, custody and credentials, as counts and dates (see the module)."""

    person_id: str
    courses_started: int = 0
    courses_completed: int = 0
    qualifications_by_level: dict[str, int] = field(default_factory=dict)
    first_started: date | None = None
    last_completed: date | None = None
    credentials_issued: int = 0
    credentials_revoked: int = 0
    released_on: date | None = None
    in_custody: bool = False
    establishments: tuple[str, ...] = ()
    unreadable_records: int = 0


def level_column(level: str) -> str:
    """The frame column counting a completed course at ``level`` (RQF levels, Entry levels)."""
    text = level.strip().lower()
    if text.startswith("entry"):
        return "achieved_entry_level"
    if text.removeprefix("level").strip() in {str(n) for n in range(1, 9)}:
        return f"achieved_level_{text.removeprefix('level').strip()}"
    return "achieved_level_other"


def completed_learning(
    session: Session, *, include_without_learning: bool = False
) -> list[LearnerLearning]:
    """One row per linked person with a learning record, ordered by person id.

    With ``include_without_learning`` every person with a custody record is included too (with
    zero courses): the comparison group an outcomes measure needs.
    """
    people: dict[str, LearnerLearning] = {}
    custody: dict[str, _Custody] = defaultdict(_Custody)

    def person(person_id: str) -> LearnerLearning:
        found = people.get(person_id)
        if found is None:
            found = people[person_id] = LearnerLearning(person_id=person_id)
        return found

    for person_id, body in _bodies(session, LEARNING_KIND):
        _add_learning(person(person_id), body)
    for person_id, body in _bodies(session, CUSTODY_KIND):
        if include_without_learning:
            person(person_id)
        custody[person_id].add(body)
    counted = session.execute(
        select(
            PersonMember.person_id,
            func.count(PassportCredential.id),
            func.count(PassportCredential.revoked_at),
        )
        .join(PersonMember, PersonMember.record_id == PassportCredential.record_id)
        .group_by(PersonMember.person_id)
    )
    for person_id, issued, revoked in counted:
        if person_id in people:
            people[person_id].credentials_issued = int(issued)
            people[person_id].credentials_revoked = int(revoked)
    for person_id, row in people.items():
        stays = custody.get(person_id)
        if stays is not None:
            row.released_on = stays.released_on
            row.in_custody = stays.open_stay
            row.establishments = tuple(sorted(stays.establishments))
            row.unreadable_records += stays.unreadable_records
    return [people[p] for p in sorted(people)]


def learning_frame_rows(
    session: Session, *, include_without_learning: bool = False
) -> Iterator[dict[str, Any]]:
    """``completed_learning`` as flat rows with a fixed set of columns, ready for Parquet."""
    for row in completed_learning(session, include_without_learning=include_without_learning):
        yield frame_row(row)


def frame_row(row: LearnerLearning) -> dict[str, Any]:
    """One person's row with the level counts spread into ``LEVEL_COLUMNS``."""
    levels = dict.fromkeys(LEVEL_COLUMNS, 0)
    for level, count in row.qualifications_by_level.items():
        levels[level_column(level) if level != UNKNOWN_LEVEL else "achieved_level_other"] += count
    return {
        "person_id": row.person_id,
        "courses_started": row.courses_started,
        "courses_completed": row.courses_completed,
        **levels,
        "first_started": row.first_started,
        "last_completed": row.last_completed,
        "credentials_issued": row.credentials_issued,
        "credentials_revoked": row.credentials_revoked,
        "released_on": row.released_on,
        "in_custody": row.in_custody,
        "establishments": list(row.establishments),
        "unreadable_records": row.unreadable_records,
    }


# --- reading the records ---------------------------------------------------------------------


def _bodies(session: Session, kind: str) -> Iterable[tuple[str, Any]]:
    """(person, the record part of the body) for every linked record of ``kind``, in batches."""
    rows = session.execute(
        select(PersonMember.person_id, AgencyRecord.body)
        .join(PersonMember, PersonMember.record_id == AgencyRecord.id)
        .where(AgencyRecord.kind == kind)
        .execution_options(yield_per=_READ_BATCH)
    )
    for person_id, body in rows:
        yield person_id, body.get("record") if isinstance(body, Mapping) else None


def _read(model: type[_R], record: Any) -> _R | None:
    """The record as the common model reads it, or None when it does not fit the model."""
    try:
        return model.model_validate(record)
    except ValidationError:
        return None


def _add_learning(row: LearnerLearning, record: Any) -> None:
    course = _read(LearningRecord, record)
    if course is None:
        row.unreadable_records += 1
        return
    row.courses_started += 1
    if row.first_started is None or course.started_on < row.first_started:
        row.first_started = course.started_on
    completed = course.completed_on
    if course.outcome != LearningOutcome.ACHIEVED or completed is None:
        return
    row.courses_completed += 1
    level = (course.level or "").strip() or UNKNOWN_LEVEL
    row.qualifications_by_level[level] = row.qualifications_by_level.get(level, 0) + 1
    if row.last_completed is None or completed > row.last_completed:
        row.last_completed = completed


@dataclass
class _Custody:
    """What a person's custody records say about release, gathered across their stays."""

    released_on: date | None = None
    open_stay: bool = False
    establishments: set[str] = field(default_factory=set)
    unreadable_records: int = 0

    def add(self, record: Any) -> None:
        stay = _read(CustodyEpisode, record)
        if stay is None:
            self.unreadable_records += 1
            return
        self.establishments.add(stay.establishment)
        if stay.released_at is None:
            self.open_stay = True
            return
        # The day as it was in England, where the prison is (not the UTC date).
        released = stay.released_at.astimezone(LONDON).date()
        if self.released_on is None or released > self.released_on:
            self.released_on = released
