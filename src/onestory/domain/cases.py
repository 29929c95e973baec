"""A criminal case from report to sentence: offences, charge decisions, prosecution, hearings."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, NonNegativeInt

from onestory.domain.base import Record
from onestory.domain.identifiers import ASN, CaseURN, CourtCaseRef, OffenceCode


class Offence(Record):
    """An offence alleged or charged, by its CJS offence code."""

    code: OffenceCode
    description: str | None = None
    committed_from: date | None = None
    committed_to: date | None = None


class PoliceCase(Record):
    """A crime recorded by a police force."""

    urn: CaseURN
    force: str = Field(description="Police force code, e.g. '01' for the Metropolitan Police")
    reported_at: AwareDatetime
    offences: list[Offence] = Field(min_length=1)
    location_postcode: str | None = None


class ChargeDecisionKind(StrEnum):
    """What was decided about a suspect (Victims' Code duty R6.3 starts here)."""

    CHARGE = "charge"
    CAUTION = "caution"
    COMMUNITY_RESOLUTION = "community_resolution"
    NO_FURTHER_ACTION = "no_further_action"


class Charge(Record):
    """One offence charged against one defendant."""

    offence: Offence
    asn: ASN | None = None


class ChargeDecision(Record):
    """A charging decision by the police or the CPS."""

    urn: CaseURN
    decision: ChargeDecisionKind
    decided_by: str = Field(description="Organisation code of the police force or CPS area")
    decided_at: AwareDatetime
    charges: list[Charge] = Field(default_factory=list)
    reason: str | None = None


class ProsecutionStatus(StrEnum):
    """Where a prosecution stands (changes start Victims' Code duty R6.4)."""

    ACTIVE = "active"
    CHARGES_ALTERED = "charges_altered"
    DISCONTINUED = "discontinued"
    NO_EVIDENCE_OFFERED = "no_evidence_offered"
    CONCLUDED = "concluded"


class ProsecutionCase(Record):
    """The CPS's case: its review and the charges it proceeds with."""

    urn: CaseURN
    cps_area: str
    reviewed_at: AwareDatetime
    status: ProsecutionStatus = ProsecutionStatus.ACTIVE
    charges: list[Charge] = Field(default_factory=list)


class HearingType(StrEnum):
    """Kinds of court hearing."""

    FIRST_APPEARANCE = "first_appearance"
    PLEA = "plea"
    BAIL = "bail"
    TRIAL = "trial"
    SENTENCE = "sentence"
    APPEAL = "appeal"


class Hearing(Record):
    """A hearing listed at a court (Victims' Code duty R8.2 starts when the WCU is told)."""

    hearing_id: str
    case_urn: CaseURN
    court_case_ref: CourtCaseRef | None = None
    court: str = Field(description="Court code")
    hearing_type: HearingType
    starts_at: AwareDatetime


class Plea(StrEnum):
    """A defendant's plea to one offence."""

    GUILTY = "guilty"
    NOT_GUILTY = "not_guilty"
    NONE = "none"


class Verdict(StrEnum):
    """The outcome for one offence."""

    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"
    WITHDRAWN = "withdrawn"


class OffenceOutcome(Record):
    """The plea and verdict on one offence."""

    offence_code: OffenceCode
    plea: Plea = Plea.NONE
    verdict: Verdict | None = None


class HearingOutcome(Record):
    """What happened at a hearing."""

    hearing_id: str
    case_urn: CaseURN
    resulted_at: AwareDatetime
    offences: list[OffenceOutcome] = Field(default_factory=list)
    next_hearing_id: str | None = None
    remanded_in_custody: bool = False


class SentenceType(StrEnum):
    """Kinds of sentence (custody of 12 months or more starts duty R11.1)."""

    IMMEDIATE_CUSTODY = "immediate_custody"
    SUSPENDED_SENTENCE = "suspended_sentence"
    COMMUNITY_ORDER = "community_order"
    FINE = "fine"
    CONDITIONAL_DISCHARGE = "conditional_discharge"
    ABSOLUTE_DISCHARGE = "absolute_discharge"
    HOSPITAL_ORDER = "hospital_order"


class Sentence(Record):
    """A sentence imposed on a defendant."""

    case_urn: CaseURN
    sentence_type: SentenceType
    imposed_at: AwareDatetime
    custody_months: NonNegativeInt | None = None
    community_months: NonNegativeInt | None = None
    fine_pounds: NonNegativeInt | None = None
    offence_codes: list[OffenceCode] = Field(default_factory=list)
