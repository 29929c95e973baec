"""The true record of a case: what happened to each suspect at each stage, with its dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from onestory.synth.custody import Course, Stay, Supervision
from onestory.synth.offences import OffenceType
from onestory.synth.organisations import Force
from onestory.synth.people import TruePerson
from onestory.synth.victims import Notice, VictimRole

# Home Office outcome types of police recorded crime ("" while still under investigation).
OUTCOMES = {
    "1": "Charged/summonsed",
    "2": "Youth caution",
    "3": "Adult caution",
    "8": "Community resolution",
    "15": "Evidential difficulties: suspect identified, victim supports action",
    "16": "Evidential difficulties: victim does not support action",
    "18": "Investigation complete: no suspect identified",
    "21": "Further investigation not in the public interest",
    "": "Under investigation",
}


@dataclass(slots=True)
class Hearing:
    """One hearing of one defendant."""

    hid: str
    kind: str  # a HearingType value
    court: str
    listed_on: date
    listed_minute: int
    day: date
    minute: int
    result: str = ""
    plea: str | None = None
    verdict: str | None = None
    remanded: bool = False
    next_hid: str | None = None

    def resulted_by(self, until: date) -> bool:
        """Whether the hearing had taken place by ``until``."""
        return self.day <= until


@dataclass(slots=True)
class Alteration:
    """A CPS change to the charges (Victims' Code duty R6.4)."""

    on: date
    kind: str  # charges_altered, dropped, discontinued, no_evidence_offered
    offence: str
    new_offence: str | None
    reason: str


@dataclass(slots=True)
class Sentence:
    """The sentence imposed on one defendant."""

    kind: str  # a SentenceType value
    on: date
    minute: int
    court: str
    custody_months: int | None = None
    community_months: int | None = None
    fine_pounds: int | None = None


@dataclass(slots=True)
class SuspectPath:
    """What happened to one suspect of one case."""

    person: TruePerson
    asn: str | None = None
    arrested_on: date | None = None
    arrest_minute: int = 0
    released_on: str = "under_investigation"
    decision: str | None = None  # a ChargeDecisionKind value
    decision_on: date | None = None
    decision_minute: int = 0
    decided_by: str = ""
    outcome_code: str = ""
    charges: list[str] = field(default_factory=list)
    review_on: date | None = None
    cps_status: str = "active"
    alterations: list[Alteration] = field(default_factory=list)
    defendant_id: str | None = None
    master_id: str | None = None
    hearings: list[Hearing] = field(default_factory=list)
    results: list[tuple[str, str, str | None]] = field(default_factory=list)
    convicted: bool | None = None
    verdict_hearing: Hearing | None = None
    sentence: Sentence | None = None
    ccrn: str | None = None
    stays: list[Stay] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    free_from: date | None = None  # when the person is next at liberty to offend


@dataclass(slots=True)
class TrueCase:
    """One recorded crime and everything that followed."""

    case_id: str
    urn: str
    force: Force
    unit: str
    offences: list[OffenceType]
    offence_on: date
    reported_on: date
    reported_minute: int
    postcode: str
    domestic: bool
    cps_area: str
    victims: list[VictimRole]
    suspects: list[SuspectPath]
    closed_on: date | None = None  # for crimes with no suspect
    outcome_code: str = ""
    prosecution_id: str | None = None
    notices: list[Notice] = field(default_factory=list)
