"""The common model's records: validation, normalisation and camelCase JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from onestory.domain.cases import ChargeDecision, ChargeDecisionKind, Hearing, PoliceCase
from onestory.domain.custody import CustodyEpisode, ReceptionReason
from onestory.domain.learning import LearningRecord
from onestory.domain.people import (
    EnhancedRightsReason,
    HeldIdentifier,
    Person,
    PersonName,
    PersonReference,
    Victim,
)


def test_person_identifiers_are_normalised_and_name_is_required() -> None:
    person = Person(
        names=[PersonName(forenames=["Siân", "Mair"], surname="Rhys-Davies")],
        dates_of_birth=[date(1990, 4, 3)],
        identifiers=[
            HeldIdentifier(type="PNC", value="81/34u", held_by="01"),
            HeldIdentifier(type="NOMS", value=" a1234bc ", held_by="MDI"),
        ],
    )
    assert [i.value for i in person.identifiers] == ["1981/0000034U", "A1234BC"]
    assert person.primary_name.surname == "Rhys-Davies"
    with pytest.raises(ValidationError, match="names"):
        Person(names=[])


def test_unknown_identifier_type_is_rejected_with_the_type_named() -> None:
    with pytest.raises(ValidationError, match="PASSPORT"):
        PersonReference.model_validate({"identifiers": [{"type": "PASSPORT", "value": "1"}]})


def test_records_are_immutable_and_reject_unknown_fields() -> None:
    name = PersonName(forenames=["Ann"], surname="Lee")
    with pytest.raises(ValidationError):
        name.surname = "Other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="nickname"):
        PersonName.model_validate({"forenames": ["Ann"], "surname": "Lee", "nickname": "Annie"})


def test_camel_case_json_in_and_out() -> None:
    case = PoliceCase.model_validate(
        {
            "urn": "61gd7528225",
            "force": "61",
            "reportedAt": "2026-01-02T03:04:05+00:00",
            "offences": [{"code": "th68001", "committedFrom": "2026-01-01"}],
        }
    )
    assert case.urn == "61GD7528225"
    assert case.offences[0].code == "TH68001"
    dumped = case.model_dump(mode="json")
    assert dumped["reportedAt"] == "2026-01-02T03:04:05Z"
    assert dumped["offences"][0]["committedFrom"] == "2026-01-01"


def test_times_must_carry_an_offset() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Hearing(
            hearing_id="h",
            case_urn="61GD7528225",
            court="C",
            hearing_type="trial",
            starts_at=datetime(2026, 1, 1, 10, 0),
        )


def test_victim_enhanced_rights() -> None:
    person = Person(names=[PersonName(forenames=["Jo"], surname="Bloggs")])
    assert not Victim(person=person).is_enhanced
    enhanced = Victim(person=person, enhanced_rights=[EnhancedRightsReason.UNDER_18])
    assert enhanced.is_enhanced


def test_other_records_validate_their_identifiers() -> None:
    decision = ChargeDecision(
        urn="61GD7528225",
        decision=ChargeDecisionKind.NO_FURTHER_ACTION,
        decided_by="61",
        decided_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert decision.charges == []
    with pytest.raises(ValidationError, match="prison"):
        CustodyEpisode(
            prison_number="12345",
            establishment="MDI",
            received_at=datetime(2026, 2, 1, tzinfo=UTC),
            reason=ReceptionReason.REMAND,
        )
    with pytest.raises(ValidationError, match="ULN"):
        LearningRecord(uln="1026893097", provider="Novus", course="Maths", started_on=date.today())
