"""The catalogue of event types agencies exchange, version by version.

Payloads reuse the common model's records; an event adds only what the record does not already
say. Names are ``<agency>.<thing>.<what happened>``.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from onestory.domain.base import Record
from onestory.domain.cases import (
    ChargeDecision,
    Hearing,
    HearingOutcome,
    Offence,
    PoliceCase,
    ProsecutionCase,
    Sentence,
)
from onestory.domain.custody import CustodyEpisode, ProbationCase, ReleaseType
from onestory.domain.events import event_type
from onestory.domain.identifiers import ASN, CaseURN, PrisonNumber, ProbationCRN
from onestory.domain.learning import LearningRecord
from onestory.domain.people import Person, Victim


@event_type(
    "police.crime.recorded",
    1,
    description="A police force recorded a crime reported by or on behalf of a victim.",
    about="case",
)
class CrimeRecorded(Record):
    """Payload of police.crime.recorded v1."""

    case: PoliceCase
    victims: list[Victim] = Field(default_factory=list)


@event_type(
    "police.suspect.arrested",
    1,
    description="A suspect was arrested; starts Victims' Code duty R6.1.",
)
class SuspectArrested(Record):
    """Payload of police.suspect.arrested v1."""

    suspect: Person
    arrested_at: AwareDatetime
    asn: ASN | None = None
    offences: list[Offence] = Field(min_length=1)
    released_on: str | None = Field(
        default=None, description="'bail', 'under_investigation', 'charged' or 'no_further_action'"
    )


@event_type(
    "police.charge.decided",
    1,
    description="The police or the CPS decided whether to charge; starts duty R6.3.",
)
class ChargeDecided(Record):
    """Payload of police.charge.decided v1."""

    decision: ChargeDecision


@event_type(
    "cps.case.reviewed",
    1,
    description="The CPS reviewed a case and set the charges it proceeds with.",
    about="case",
)
class CaseReviewed(Record):
    """Payload of cps.case.reviewed v1."""

    prosecution: ProsecutionCase


@event_type(
    "cps.charges.altered",
    1,
    description="Charges were dropped, altered or discontinued; starts duty R6.4.",
)
class ChargesAltered(Record):
    """Payload of cps.charges.altered v1."""

    prosecution: ProsecutionCase
    reason: str


@event_type(
    "court.hearing.listed",
    1,
    description="A court listed a hearing; the Witness Care Unit must tell the victim (R8.2).",
)
class HearingListed(Record):
    """Payload of court.hearing.listed v1."""

    hearing: Hearing
    defendant_id: str = Field(description="Common Platform masterDefendantId (a UUID)")


@event_type(
    "court.hearing.resulted",
    1,
    description="A hearing's outcome was recorded; the court must tell the WCU (R8.1).",
)
class HearingResulted(Record):
    """Payload of court.hearing.resulted v1."""

    outcome: HearingOutcome
    defendant_id: str


@event_type(
    "court.sentence.imposed",
    1,
    description="A sentence was imposed; the WCU must tell the victim (R9.2).",
)
class SentenceImposed(Record):
    """Payload of court.sentence.imposed v1."""

    sentence: Sentence
    defendant_id: str


@event_type(
    "prison.prisoner.received",
    1,
    description="A person was received into prison custody.",
    about="person",
)
class PrisonerReceived(Record):
    """Payload of prison.prisoner.received v1."""

    custody: CustodyEpisode


@event_type(
    "prison.prisoner.released",
    1,
    description="A person was released from prison custody.",
    about="person",
)
class PrisonerReleased(Record):
    """Payload of prison.prisoner.released v1."""

    prison_number: PrisonNumber
    establishment: str
    released_at: AwareDatetime
    release_type: ReleaseType


@event_type(
    "probation.supervision.started",
    1,
    description="The Probation Service started supervising a person.",
    about="person",
)
class SupervisionStarted(Record):
    """Payload of probation.supervision.started v1."""

    probation_case: ProbationCase


@event_type(
    "probation.supervision.ended",
    1,
    description="Supervision by the Probation Service ended.",
    about="person",
)
class SupervisionEnded(Record):
    """Payload of probation.supervision.ended v1."""

    crn: ProbationCRN
    ended_on: date
    reason: str = Field(description="'completed', 'revoked', 'breached' or 'died'")


@event_type(
    "education.learning.recorded",
    1,
    description="An education provider recorded a course started or completed.",
    about="person",
)
class LearningRecorded(Record):
    """Payload of education.learning.recorded v1."""

    learning: LearningRecord


@event_type(
    "probation.victim_contact.referred",
    1,
    description="A victim was referred to the probation Victim Contact Scheme; meets R11.1 and "
    "starts R11.2 (a victim liaison officer contacts the victim).",
    about="case",
)
class VictimContactReferred(Record):
    """Payload of probation.victim_contact.referred v1."""

    case_urn: CaseURN
    referred_by: str = Field(description="Organisation code of the referring Witness Care Unit")
    referred_at: AwareDatetime


@event_type(
    "witness_care.victim.informed",
    1,
    description="A Witness Care Unit or the police told a victim something the Code requires.",
    about="person_and_case",
)
class VictimInformed(Record):
    """Payload of witness_care.victim.informed v1."""

    duty: str = Field(description="Victims' Code duty id, e.g. 'R8.2'")
    about_event_id: str | None = Field(
        default=None, description="Id of the event the victim was told about"
    )
    channel: str
    informed_at: AwareDatetime
