"""Learning records coming in by API, through to a credential: an education provider's system
posts a course in the common model, a wrong ULN check digit is refused naming the field, and once
the record is in the person index ``issue_pending`` issues the credential -- over HTTP, on SQLite
and PostgreSQL.

``POST /api/records`` asks the sharing rules for ``create`` on a ``person`` record (who the record
is about); ``education-learning-records.yaml`` grants that to education providers for
rehabilitation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from page_checks import PageCheckingClient

from onestory.config import Settings
from onestory.domain.identifiers import ULN, PrisonNumber, uln_check_digit
from onestory.domain.learning import LearningOutcome, LearningRecord
from onestory.exchange.tables import AgencyRecord
from onestory.linkage.tables import Person, PersonMember
from onestory.passport import credentials, dataintegrity
from onestory.passport.issuer import Issuer, Trust
from onestory.passport.tables import PassportCredential
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import Organisation
from onestory.web.app import create_app

ADMIN = Actor("user:1", "administrator", None, None)
URL = "/api/records?purpose=rehabilitation"
BASE = "https://passport.example.test"
PROVIDER = ("EDU-NOVUS", "Novus", "education")


def _valid_uln(first9: str = "123456789") -> str:
    digit = uln_check_digit(first9)
    assert digit is not None, f"no ULN starts {first9}"
    return f"{first9}{digit}"


def _wrong_check_digit(uln: str) -> str:
    return uln[:9] + str((int(uln[9]) + 1) % 10)


@pytest.fixture
def records_app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="r" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def records_client(records_app: FastAPI) -> Iterator[PageCheckingClient]:
    with PageCheckingClient(records_app) as client:
        yield client


@pytest.fixture
def provider_key(records_app: FastAPI) -> dict[str, str]:
    """An education provider's system key, able to send records about people."""
    code, name, kind = PROVIDER
    with records_app.state.sessions() as session:
        session.add(Organisation(code=code, name=name, kind=kind))
        session.flush()
        _, key = issue_key(
            session,
            actor=ADMIN,
            organisation_code=code,
            name="Novus learner records system",
            role="education_provider",
            scopes=["create:person", "create:learning_record", "read:learning_record"],
        )
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def _learning(uln: str) -> dict[str, Any]:
    """A completed course as the common model's ``LearningRecord``, about its learner."""
    record = LearningRecord(
        uln=ULN(uln),
        prison_number=PrisonNumber("A1234BC"),
        provider="Novus",
        course="English",
        qualification="Functional Skills Qualification in English at Level 2",
        level="2",
        awarding_body="Pearson",
        started_on=date(2026, 2, 2),
        completed_on=date(2026, 6, 26),
        outcome=LearningOutcome.ACHIEVED,
    ).model_dump(mode="json")
    return {
        "kind": "education.learning",
        "person": {
            "names": [{"forenames": ["Casey"], "surname": "Lund"}],
            "datesOfBirth": ["1994-03-17"],
            "identifiers": [
                {"type": "NOMS", "value": "A1234BC"},
                {"type": "ULN", "value": uln},
            ],
        },
        "record": record,
    }


def _count(app: FastAPI, model: type[Any]) -> int:
    with app.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_wrong_uln_check_digit_is_refused_naming_the_field(
    records_app: FastAPI, records_client: PageCheckingClient, provider_key: dict[str, str]
) -> None:
    """Validation comes before the rules are asked, so this holds whatever the policies say."""
    wrong = _wrong_check_digit(_valid_uln())
    body = _learning(_valid_uln())
    body["person"]["identifiers"][1]["value"] = body["record"]["uln"] = wrong
    refused = records_client.post(URL, json=body, headers=provider_key)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail["field"] == "person.identifiers.1"
    assert "check digit" in detail["problem"]
    assert _count(records_app, AgencyRecord) == 0


def test_a_learning_record_that_breaks_the_common_model_is_refused_naming_the_field(
    records_app: FastAPI, records_client: PageCheckingClient, provider_key: dict[str, str]
) -> None:
    """The ``record`` part is checked against ``LearningRecord``, as bulk mapping checks a row."""
    body = _learning(_valid_uln())
    body["record"]["completedOn"] = "26/06/2026"
    refused = records_client.post(URL, json=body, headers=provider_key)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]["field"] == "record.completedOn"
    assert _count(records_app, AgencyRecord) == 0


def test_a_posted_learning_record_once_linked_earns_a_credential(
    records_app: FastAPI, records_client: PageCheckingClient, provider_key: dict[str, str]
) -> None:
    uln = _valid_uln()
    sent = records_client.post(URL, json=_learning(uln), headers=provider_key)
    assert sent.status_code == 201, sent.text
    record_id = sent.json()["id"]
    # Not yet in the person index: nothing to issue.
    issuer = Issuer.generate_did_key()
    with records_app.state.sessions() as session:
        waiting = credentials.issue_pending(session, issuer, actor="test", base_url=BASE)
        assert (waiting.issued, waiting.not_linked) == (0, 1)
        record = session.get(AgencyRecord, record_id)
        assert record is not None
        assert (record.kind, record.uln, record.prison_number) == (
            "education.learning",
            uln,
            "A1234BC",
        )
        # Incremental linkage (link_arrivals) needs a trained Splink model, which a posted
        # record alone cannot give; the index's own rows are written as a first arrival would be.
        session.add(Person(id="P-TESTLEARNER1"))
        session.flush()
        session.add(PersonMember(record_id=record_id, person_id="P-TESTLEARNER1", how="new"))
        session.commit()
        summary = credentials.issue_pending(session, issuer, actor="test", base_url=BASE)
        assert summary.issued == 1
        credential = session.scalars(select(PassportCredential)).one()
        assert credential.record_id == record_id
        assert credential.achievement == "Functional Skills Qualification in English at Level 2"
        assert dataintegrity.verify(credential.rdfc, resolve_key=Trust.of([issuer]).resolve).ok
        assert uln not in str(credential.rdfc)
