"""Agency systems sending records about people in the common model: validation naming the
field, idempotency by content and by key, the sharing rules, and reading a record back -- over
HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import func, select

from onestory.exchange.tables import AgencyRecord
from onestory.ledger.tables import LedgerEntry
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key
from onestory.sharing.tables import Organisation

ADMIN = Actor("user:1", "administrator", None, None)
URL = "/api/records?purpose=investigation"


def _key(
    app: FastAPI,
    scopes: list[str],
    *,
    role: str = "police_officer",
    organisation: tuple[str, str] = ("POL04", "police"),
) -> dict[str, str]:
    code, kind = organisation
    with app.state.sessions() as session:
        if session.scalar(select(Organisation).where(Organisation.code == code)) is None:
            session.add(Organisation(code=code, name=code, kind=kind))
            session.flush()
        _, key = issue_key(
            session,
            actor=ADMIN,
            organisation_code=code,
            name="force system",
            role=role,
            scopes=scopes,
        )
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def _record(**person_changes: Any) -> dict[str, Any]:
    person = {
        "names": [{"forenames": ["Nadeem"], "surname": "Hussain"}],
        "datesOfBirth": ["1989-10-23"],
        "sex": "M",
        "addresses": [{"lines": ["Flat 40"], "town": "Birmingham", "postcode": "B38 7PS"}],
        "identifiers": [{"type": "PNC", "value": "16/287414Z"}],
    }
    person.update(person_changes)
    return {"kind": "police.suspect", "person": person, "caseUrn": "04BB0297518"}


def _count(app: FastAPI, model: type[Any]) -> int:
    with app.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_record_is_stored_once_flattened_for_linkage_and_ledgered(
    app: FastAPI, client: PageCheckingClient
) -> None:
    headers = _key(app, ["create:person", "read:person", "read:case"])
    ledger_before = _count(app, LedgerEntry)
    sent = client.post(URL, json=_record(), headers=headers)
    assert sent.status_code == 201, sent.text
    record_id = sent.json()["id"]
    again = client.post(URL, json=_record(), headers=headers)
    assert again.status_code == 200 and again.json() == {**sent.json(), "created": False}
    assert _count(app, AgencyRecord) == 1
    with app.state.sessions() as session:
        record = session.get(AgencyRecord, record_id)
        assert record is not None
        # Canonical forms: the short PNC spelling is stored long; the URN is kept for lookup.
        assert (record.forenames, record.surname, record.pnc_id) == (
            "Nadeem",
            "Hussain",
            "2016/0287414Z",
        )
        assert (record.postcode, record.case_urn, record.agency) == (
            "B38 7PS",
            "04BB0297518",
            "POL04",
        )
        received = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "exchange.record.received")
        ).all()
        assert [e.subjects for e in received] == [[{"kind": "agency_record", "id": record_id}]]
    # The allow decision and the record's own entry; the duplicate adds only its decision.
    assert _count(app, LedgerEntry) == ledger_before + 3
    read = client.get(f"/api/records/{record_id}?purpose=investigation", headers=headers)
    assert read.status_code == 200
    assert read.json()["body"]["person"]["identifiers"][0]["value"] == "2016/0287414Z"


def test_bad_input_is_refused_naming_the_field(app: FastAPI, client: PageCheckingClient) -> None:
    headers = _key(app, ["create:person"])
    wrong_check = _record(identifiers=[{"type": "PNC", "value": "16/287414Y"}])
    refused = client.post(URL, json=wrong_check, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"]["field"] == "person.identifiers.0"
    assert "check character" in refused.json()["detail"]["problem"]
    no_name = _record(names=[])
    assert client.post(URL, json=no_name, headers=headers).json()["detail"]["field"] == (
        "person.names"
    )
    bad_kind = {**_record(), "kind": "police.gossip"}
    assert client.post(URL, json=bad_kind, headers=headers).json()["detail"]["field"] == "kind"
    bad_urn = {**_record(), "caseUrn": "nonsense"}
    assert client.post(URL, json=bad_urn, headers=headers).json()["detail"]["field"] == "caseUrn"
    assert _count(app, AgencyRecord) == 0


def test_a_reused_idempotency_key_with_another_record_is_a_conflict(
    app: FastAPI, client: PageCheckingClient
) -> None:
    headers = _key(app, ["create:person"])
    first = client.post(URL, json=_record(), headers={**headers, "Idempotency-Key": "row-1"})
    assert first.status_code == 201
    same = client.post(URL, json=_record(), headers={**headers, "Idempotency-Key": "row-1"})
    assert same.status_code == 200
    other = _record(datesOfBirth=["1989-10-24"])
    conflict = client.post(URL, json=other, headers={**headers, "Idempotency-Key": "row-1"})
    assert conflict.status_code == 409
    assert "already used for a different record" in conflict.text
    assert _count(app, AgencyRecord) == 1


def test_scope_and_the_rules_decide(app: FastAPI, client: PageCheckingClient) -> None:
    narrow = _key(app, ["read:person"])
    refused = client.post(URL, json=_record(), headers=narrow)
    assert refused.status_code == 403 and "create:person" in refused.text
    # A police key may send records for an investigation, not for offender management.
    headers = _key(app, ["create:person"])
    wrong_purpose = client.post(
        "/api/records?purpose=offender_management", json=_record(), headers=headers
    )
    assert wrong_purpose.status_code == 403
    assert _count(app, AgencyRecord) == 0
    missing = client.get("/api/records/nothing?purpose=investigation", headers=narrow)
    assert missing.status_code == 404


def test_what_a_record_says_is_read_under_its_own_rule(
    app: FastAPI, client: PageCheckingClient
) -> None:
    """Who a probation record is about is a person record; what it says is probation's. The
    police may read the first for an investigation, not the second."""
    headers = _key(app, ["read:person", "read:probation"])
    body = {"person": _record()["person"], "record": {"orderType": "Licence"}}
    with app.state.sessions() as session:
        session.add(
            AgencyRecord(
                id="p" * 64,
                agency="PS-NE",
                layout="probation-orders",
                kind="probation.order",
                source_name="probation.jsonl",
                record_key="1",
                body=body,
                surname="Hussain",
            )
        )
        session.commit()
    url = "/api/records/" + "p" * 64
    assert client.get(f"{url}?purpose=investigation", headers=headers).status_code == 404
    with app.state.sessions() as session:
        # The refusal about what the record says is in the ledger.
        decisions = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "sharing.decision")
        ).all()
        assert any({"kind": "probation", "id": "p" * 64} in e.subjects for e in decisions)
    # Without the scope for what it says, the key is not even asked about.
    person_only = _key(app, ["read:person"])
    assert client.get(f"{url}?purpose=investigation", headers=person_only).status_code == 404
    # Probation staff managing the order may read both.
    probation = _key(
        app,
        ["read:person", "read:probation"],
        role="probation_officer",
        organisation=("PS-NE", "probation"),
    )
    allowed = client.get(f"{url}?purpose=offender_management", headers=probation)
    assert allowed.status_code == 200 and allowed.json()["body"] == body
