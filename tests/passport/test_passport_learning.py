"""Completed learning per person for the insights work, on SQLite and PostgreSQL: what each field
counts, that unlinked records and unreadable dates are not silently folded in, that the read
costs the same few queries however many people there are, and that the rows go to Parquet."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from passport_helpers import Course, Learner, add_learner
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from onestory.domain.custody import CustodyEpisode, ReceptionReason
from onestory.domain.identifiers import PrisonNumber
from onestory.domain.learning import LearningOutcome, LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.linkage.tables import Person, PersonMember
from onestory.passport import credentials
from onestory.passport.issuer import Issuer
from onestory.passport.learning import (
    LEVEL_COLUMNS,
    LearnerLearning,
    completed_learning,
    learning_frame_rows,
)
from onestory.passport.tables import PassportCredential

BASE = "https://passport.example.test"
SECOND = "P0000000000000000002"
CUSTODY_ONLY = "P0000000000000000003"


def _id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _record(
    session: Session, person_id: str | None, kind: str, key: str, record: dict[str, Any]
) -> str:
    """An agency record of ``kind`` (linked to ``person_id`` unless None); caller commits."""
    rid = _id(person_id or "unlinked", kind, key)
    session.add(
        AgencyRecord(
            id=rid,
            agency="LEI" if kind == "prison.custody" else "EDU-NOVUS",
            layout="api",
            kind=kind,
            source_name="api",
            record_key=key,
            body={"person": {"names": [{"forenames": ["X"], "surname": "Y"}]}, "record": record},
            surname="Y",
        )
    )
    session.flush()
    if person_id is not None:
        session.add(PersonMember(record_id=rid, person_id=person_id, how="new"))
        session.flush()
    return rid


def _stay(
    session: Session, person_id: str, key: str, establishment: str, released: datetime | None
) -> None:
    stay = CustodyEpisode(
        prison_number=PrisonNumber("B2345CD"),
        establishment=establishment,
        received_at=datetime(2024, 1, 10, 14, 0, tzinfo=UTC),
        reason=ReceptionReason.SENTENCED,
        released_at=released,
    )
    _record(session, person_id, "prison.custody", key, stay.model_dump(mode="json"))


def _second_learner(session: Session) -> Learner:
    """Entry-level and level 2 achievements, one withdrawal, released twice: the latest late on
    14 August 2026 UTC, which is already the 15th in England."""
    learner = add_learner(
        session,
        person_id=SECOND,
        forenames="Sam",
        surname="Okoro",
        prison_number="B2345CD",
        courses=(
            Course(
                "ESOL",
                "ESOL Skills for Life",
                "Entry 3",
                "Trinity",
                date(2025, 3, 3),
                date(2025, 7, 1),
                "achieved",
            ),
            Course(
                "Catering",
                "Level 2 Certificate in Food Safety",
                "2",
                "Highfield",
                date(2025, 2, 1),
                date(2025, 4, 30),
                "achieved",
            ),
            Course("Painting", None, None, None, date(2025, 9, 1), None, "withdrawn"),
        ),
        establishment=None,
        account_email=None,
    )
    _stay(session, SECOND, "stay-1", "HMI", datetime(2025, 11, 2, 9, 0, tzinfo=UTC))
    _stay(session, SECOND, "stay-2", "LEI", datetime(2026, 8, 14, 23, 30, tzinfo=UTC))
    return learner


def test_each_field_counts_what_the_module_says(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    _second_learner(session)
    session.add(Person(id=CUSTODY_ONLY))
    session.flush()
    _stay(session, CUSTODY_ONLY, "stay-1", "WDI", None)
    session.commit()
    credentials.issue_pending(session, passport_issuer, actor="test", base_url=BASE)
    # The earliest award is Sam's food safety certificate: revoke that one.
    revoked = session.scalars(
        select(PassportCredential).order_by(PassportCredential.awarded_on)
    ).first()
    assert revoked is not None and revoked.course == "Catering"
    credentials.revoke(
        session, passport_issuer, revoked, actor="test", reason="wrong learner", base_url=BASE
    )
    session.commit()

    rows = {row.person_id: row for row in completed_learning(session)}

    assert sorted(rows) == [passport_learner.person_id, SECOND]  # custody-only left out
    jordan, sam = rows[passport_learner.person_id], rows[SECOND]
    assert (jordan.courses_started, jordan.courses_completed) == (3, 2)
    assert jordan.qualifications_by_level == {"1": 2}
    assert (jordan.first_started, jordan.last_completed) == (date(2026, 1, 12), date(2026, 5, 15))
    assert (jordan.released_on, jordan.in_custody, jordan.establishments) == (None, True, ("LEI",))
    assert (sam.courses_started, sam.courses_completed) == (3, 2)
    assert sam.qualifications_by_level == {"Entry 3": 1, "2": 1}
    assert (sam.first_started, sam.last_completed) == (date(2025, 2, 1), date(2025, 7, 1))
    assert (sam.released_on, sam.in_custody, sam.establishments) == (
        date(2026, 8, 15),
        False,
        ("HMI", "LEI"),
    )
    # Four achievements, four credentials; the revoked one counts in both of Sam's figures.
    assert (jordan.credentials_issued, jordan.credentials_revoked) == (2, 0)
    assert (sam.credentials_issued, sam.credentials_revoked) == (2, 1)

    everyone = {
        row.person_id: row for row in completed_learning(session, include_without_learning=True)
    }
    assert everyone[CUSTODY_ONLY] == LearnerLearning(
        person_id=CUSTODY_ONLY, in_custody=True, establishments=("WDI",)
    )


def test_unlinked_records_are_left_out_and_unreadable_ones_are_counted(
    session: Session, passport_learner: Learner
) -> None:
    maths = LearningRecord(
        provider="Novus",
        course="Maths",
        level="1",
        started_on=date(2026, 1, 5),
        completed_on=date(2026, 2, 1),
        outcome=LearningOutcome.ACHIEVED,
    ).model_dump(mode="json")
    # Not in the person index yet: belongs to no one, so it is in no row.
    _record(session, None, "education.learning", "unlinked", maths)
    # Records the API kept as sent, not in the common model's shape: not guessed at, counted.
    day_first = {**maths, "startedOn": "05/01/2026", "completedOn": "01/02/2026"}
    _record(session, passport_learner.person_id, "education.learning", "day-first", day_first)
    _record(
        session,
        passport_learner.person_id,
        "prison.custody",
        "no-dates",
        {"establishment": "LEI", "releasedOn": "2026-08-14"},
    )
    session.commit()

    (row,) = completed_learning(session)

    assert (row.courses_started, row.courses_completed) == (3, 2)
    assert row.first_started == date(2026, 1, 12)
    assert row.unreadable_records == 2
    # The unreadable stay's release date is not taken as a release.
    assert (row.released_on, row.in_custody, row.establishments) == (None, True, ("LEI",))


def test_the_read_is_a_few_queries_however_many_people(
    session: Session, passport_learner: Learner
) -> None:
    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            completed_learning(session)
        finally:
            event.remove(bind, "before_cursor_execute", count)
        return len(seen)

    with_one = statements()
    for n in range(2, 12):
        add_learner(
            session,
            person_id=f"P{n:019d}",
            prison_number=f"A{n:04d}BC",
            account_email=None,
        )
    session.commit()
    assert len(completed_learning(session)) == 11
    assert statements() == with_one <= 3


def test_frame_rows_have_one_schema_and_aggregate_in_duckdb(
    session: Session, passport_learner: Learner, tmp_path: Path
) -> None:
    _second_learner(session)
    session.commit()
    rows = list(learning_frame_rows(session))
    assert [list(r) for r in rows] == [list(rows[0])] * len(rows)
    assert {c: rows[1][c] for c in LEVEL_COLUMNS if rows[1][c]} == {
        "achieved_entry_level": 1,
        "achieved_level_2": 1,
    }
    path = tmp_path / "learning.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    (by_level,) = duckdb.sql(
        f"SELECT sum(achieved_level_1), sum(achieved_level_2), sum(achieved_entry_level), "
        f"count(*) FILTER (WHERE released_on IS NOT NULL) FROM read_parquet('{path}')"
    ).fetchall()
    assert by_level == (2, 1, 1, 1)
