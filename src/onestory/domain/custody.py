"""Prison custody and probation supervision."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from onestory.domain.base import Record
from onestory.domain.identifiers import PrisonNumber, ProbationCRN


class ReceptionReason(StrEnum):
    """Why a person was received into prison."""

    REMAND = "remand"
    SENTENCED = "sentenced"
    RECALL = "recall"


class ReleaseType(StrEnum):
    """How a person left prison (release starts Victims' Code notifications)."""

    LICENCE = "licence"
    END_OF_SENTENCE = "end_of_sentence"
    BAIL = "bail"
    HOME_DETENTION_CURFEW = "home_detention_curfew"
    TRANSFER = "transfer"


class CustodyEpisode(Record):
    """One continuous stay in prison custody."""

    prison_number: PrisonNumber
    establishment: str = Field(description="Prison code, e.g. 'MDI'")
    received_at: AwareDatetime
    reason: ReceptionReason
    released_at: AwareDatetime | None = None
    release_type: ReleaseType | None = None


class OrderType(StrEnum):
    """What a person is supervised under."""

    COMMUNITY_ORDER = "community_order"
    SUSPENDED_SENTENCE_ORDER = "suspended_sentence_order"
    LICENCE = "licence"
    POST_SENTENCE_SUPERVISION = "post_sentence_supervision"


class ProbationCase(Record):
    """Supervision by the Probation Service, keyed by the nDelius case reference (CRN)."""

    crn: ProbationCRN
    region: str
    order_type: OrderType
    started_on: date
    ends_on: date | None = None
