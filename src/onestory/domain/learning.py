"""Learning in prison and on probation: courses and qualifications, the passport's raw material."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from onestory.domain.base import Record
from onestory.domain.identifiers import ULN, PrisonNumber


class LearningOutcome(StrEnum):
    """How a course ended."""

    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    WITHDRAWN = "withdrawn"


class LearningRecord(Record):
    """One course or qualification taken by a learner."""

    uln: ULN | None = None
    prison_number: PrisonNumber | None = None
    provider: str
    course: str
    qualification: str | None = None
    level: str | None = Field(default=None, description="'Entry 3', '1' … '8' (RQF levels)")
    awarding_body: str | None = None
    started_on: date
    completed_on: date | None = None
    outcome: LearningOutcome = LearningOutcome.IN_PROGRESS
