"""Issuing and revoking credentials from linked learning records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from passport_helpers import Learner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from onestory.ledger.tables import LedgerEntry
from onestory.passport import credentials, dataintegrity, jose
from onestory.passport.issuer import Issuer, Trust
from onestory.passport.schedule import issue_once
from onestory.passport.statuslist import StatusList, check_status
from onestory.passport.tables import PassportCredential, PassportHolder
from onestory.store import session_factory

BASE = "https://passport.example.test"


def _issue_all(session: Session, issuer: Issuer) -> credentials.IssueSummary:
    return credentials.issue_pending(session, issuer, actor="test", base_url=BASE)


def test_every_achieved_course_gets_one_credential_and_reruns_issue_nothing(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    summary = _issue_all(session, passport_issuer)
    assert (summary.issued, summary.holders_created, summary.not_achieved) == (2, 1, 1)
    again = _issue_all(session, passport_issuer)
    assert again.issued == 0
    holder = session.scalars(select(PassportHolder)).one()
    assert holder.person_id == passport_learner.person_id
    names = sorted(c.achievement for c in credentials.holder_credentials(session, holder))
    assert names == [
        "Functional Skills Qualification in Mathematics at Level 1",
        "Level 1 Award in Health and Safety in a Construction Environment",
    ]


def test_each_secured_form_verifies_and_names_no_prison_or_identifier(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    _issue_all(session, passport_issuer)
    trust = Trust.of([passport_issuer])
    for credential in session.scalars(select(PassportCredential)):
        for document in (credential.rdfc, credential.jcs):
            assert dataintegrity.verify(document, resolve_key=trust.resolve).ok
        assert jose.verify_vc_jwt(credential.jwt, resolve_key=trust.jose_resolver).ok
        text = str(credential.rdfc) + credential.jwt
        assert "HMP Leeds" not in str(credential.rdfc)
        assert passport_learner.prison_number not in text
        assert passport_learner.uln not in text
        subject = credential.rdfc["credentialSubject"]
        assert subject["identifier"][0]["identityHash"] == "Jordan Reece"
        assert subject["source"]["name"] == "Novus"
        assert "OpenBadgeCredential" in credential.rdfc["type"]


def test_the_holder_can_choose_to_name_the_establishment(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="test"
    )
    holder.name_establishment = True
    _issue_all(session, passport_issuer)
    credential = session.scalars(select(PassportCredential)).first()
    assert credential is not None
    assert credential.establishment == "HMP Leeds"
    assert "HMP Leeds" in credential.rdfc["credentialSubject"]["source"]["description"]


def test_issuing_and_revoking_are_ledger_entries_and_revoking_flips_the_bit(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    _issue_all(session, passport_issuer)
    credential = session.scalars(select(PassportCredential)).first()
    assert credential is not None
    listed = credentials.status_list_document(
        session, passport_issuer, credential.status_list, base_url=BASE
    )
    assert listed is not None
    assert check_status(credential.rdfc["credentialStatus"], listed) is False

    credentials.revoke(
        session, passport_issuer, credential, actor="test", reason="awarded in error", base_url=BASE
    )
    session.commit()
    listed = credentials.status_list_document(
        session, passport_issuer, credential.status_list, base_url=BASE
    )
    assert listed is not None
    trust = Trust.of([passport_issuer])
    assert dataintegrity.verify(listed, resolve_key=trust.resolve).ok
    assert check_status(credential.rdfc["credentialStatus"], listed) is True
    bits = StatusList.decode(listed["credentialSubject"]["encodedList"])
    assert sum(bits.get(i) for i in range(bits.size)) == 1
    types = list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))
    assert types.count(credentials.ISSUED) == 2
    assert types.count(credentials.REVOKED) == 1
    with pytest.raises(credentials.PassportError, match="already revoked"):
        credentials.revoke(
            session, passport_issuer, credential, actor="test", reason="again", base_url=BASE
        )


def test_an_unfinished_course_is_refused_with_the_reason(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    record_id = passport_learner.record_ids[2]
    from onestory.exchange.tables import AgencyRecord

    record = session.get(AgencyRecord, record_id)
    assert record is not None
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="test"
    )
    with pytest.raises(credentials.PassportError, match="in progress with no completion date"):
        credentials.issue(session, passport_issuer, record, holder, actor="t", base_url=BASE)


def test_a_credential_can_carry_an_end_of_validity(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    from onestory.exchange.tables import AgencyRecord

    record = session.get(AgencyRecord, passport_learner.record_ids[0])
    assert record is not None
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="test"
    )
    until = datetime(2027, 1, 1, tzinfo=UTC)
    credential = credentials.issue(
        session, passport_issuer, record, holder, actor="t", base_url=BASE, valid_until=until
    )
    assert credential.rdfc["validUntil"] == "2027-01-01T00:00:00Z"
    trust = Trust.of([passport_issuer])
    later = until + timedelta(days=1)
    assert jose.verify_vc_jwt(
        credential.jwt, resolve_key=trust.jose_resolver, now=later
    ).failure == (jose.JoseFailure.EXPIRED)


def test_the_server_s_scheduled_run_issues_what_arrived(
    engine: Engine, session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    sessions = session_factory(engine)
    first = issue_once(sessions, passport_issuer, BASE)
    assert (first.issued, first.not_achieved) == (2, 1)
    assert issue_once(sessions, passport_issuer, BASE).issued == 0


def test_a_record_is_never_issued_twice(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    """Two runs at once: the second finds the first's credential under the ledger lock."""
    from onestory.exchange.tables import AgencyRecord

    record = session.get(AgencyRecord, passport_learner.record_ids[0])
    assert record is not None
    holder = credentials.holder_for_person(
        session, passport_learner.person_id, full_name="Jordan Reece", actor="t"
    )
    credentials.issue(session, passport_issuer, record, holder, actor="t", base_url=BASE)
    with pytest.raises(credentials.AlreadyIssued):
        credentials.issue(session, passport_issuer, record, holder, actor="t", base_url=BASE)


def test_a_credential_stays_with_the_holder_it_names_when_the_index_moves_its_record(
    session: Session, passport_learner: Learner, passport_issuer: Issuer
) -> None:
    """A false match corrected: the record moves to another person, who must not receive a
    credential signed in Jordan's name."""
    from onestory.linkage.tables import Person, PersonMember

    _issue_all(session, passport_issuer)
    jordan = session.scalars(select(PassportHolder)).one()
    session.add(Person(id="P0000000000000000002"))
    session.flush()
    other = credentials.holder_for_person(
        session, "P0000000000000000002", full_name="Someone Else", actor="t"
    )
    moved = session.get(PersonMember, passport_learner.record_ids[0])
    assert moved is not None
    moved.person_id = "P0000000000000000002"
    session.flush()
    assert credentials.holder_credentials(session, other) == []
    assert len(credentials.holder_credentials(session, jordan)) == 1
