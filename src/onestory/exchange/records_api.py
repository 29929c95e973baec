"""Agency systems sending one record at a time in the common model, and reading one back.

A bulk file (``exchange.ingest``) and this API end in the same table, ``agency_record``, with
the same ledger entry, so linkage and every page treat a record the same however it came. The
body is the common model itself — ``onestory.domain.people.RecordSubmission``, published as
``record.v1.schema.json`` by ``onestory schema export`` (so a wrong check character is refused,
naming the field) — not an agency's own layout.

Idempotency: a record sent twice is recognised by its content (the same body from the same
organisation is the same record: 200, nothing changes). A client that sets an
``Idempotency-Key`` header is also told when it reuses a key for a different body (409), which
a content hash alone cannot see.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.domain.base import Record
from onestory.domain.custody import CustodyEpisode
from onestory.domain.learning import LearningRecord
from onestory.domain.people import Person, RecordSubmission
from onestory.exchange.api import allow_sending
from onestory.exchange.intake import record_sharing_kind
from onestory.exchange.mapping import PersonColumns, load_layouts
from onestory.exchange.tables import AgencyRecord
from onestory.ledger.entries import Subject, canonical_json
from onestory.ledger.log import append_at_commit, lock_for_append
from onestory.sharing.authorize import RecordRef, authorize
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.vocabulary import Action, Purpose, RecordKind
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/records", tags=["exchange"])

API_LAYOUT = "api"
RECEIVED = "exchange.record.received"
NOT_FOUND = "no such record, or not one this client may read for this purpose"
# The identifier types that have a column of their own (the rest stay in the body).
_ID_COLUMNS = {
    "PNC": "pnc_id",
    "CRO": "cro_number",
    "NOMS": "prison_number",
    "CRN": "probation_crn",
    "ULN": "uln",
    "NINO": "ni_number",
}


# The kinds whose ``record`` is exactly one model of the common model: checked on the way in, so
# what the API stores reads the same as what the bulk mapping stores. (The other kinds' records
# combine several models and are kept as sent.)
RECORD_MODELS: dict[str, type[Record]] = {
    "prison.custody": CustodyEpisode,
    "education.learning": LearningRecord,
}


@cache
def record_kinds() -> frozenset[str]:
    """The kinds of record agencies send: the bulk layouts' kinds, plus a bare person."""
    return frozenset({"person", *(layout.kind for layout in load_layouts().values())})


class RecordError(ValueError):
    """A record that cannot be accepted; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def parse_record(body: dict[str, Any]) -> tuple[RecordSubmission, PersonColumns]:
    """The record validated (the published record schema's model) and its person's linkage
    columns; ``RecordError`` naming the field otherwise."""
    try:
        submission = RecordSubmission.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise RecordError(f"{where}: {err['msg']}", where) from exc
    if submission.kind not in record_kinds():
        raise RecordError(
            f"kind must be one of {', '.join(sorted(record_kinds()))}; got {submission.kind!r}",
            "kind",
        )
    model = RECORD_MODELS.get(submission.kind)
    if model is not None:
        try:
            checked = model.model_validate(submission.record)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(["record", *(str(p) for p in err["loc"])])
            raise RecordError(f"{where}: {err['msg']}", where) from exc
        submission = submission.model_copy(update={"record": checked.model_dump(mode="json")})
    urn = str(submission.case_urn) if submission.case_urn else None
    return submission, person_columns(submission.person, urn)


def person_columns(person: Person, case_urn: str | None = None) -> PersonColumns:
    """The person flattened for linkage, as the bulk mapping flattens a row."""
    name = person.primary_name
    address = next((a for a in person.addresses if a.postcode), None)
    ids: dict[str, str] = {}
    for identifier in person.identifiers:
        column = _ID_COLUMNS.get(identifier.type)
        if column is not None:
            ids.setdefault(column, identifier.value)
    return PersonColumns(
        forenames=" ".join(" ".join(name.forenames).split()),
        surname=" ".join(name.surname.split()),
        date_of_birth=person.dates_of_birth[0] if person.dates_of_birth else None,
        sex=person.sex.value,
        postcode=address.postcode.upper() if address and address.postcode else None,
        case_urn=case_urn,
        **ids,
    )


def _record_id(agency: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{API_LAYOUT}\x00{agency}\x00".encode())
    digest.update(canonical_json(body))
    return digest.hexdigest()


def receive_record(
    session: Session,
    body: dict[str, Any],
    *,
    agency: str,
    actor_id: str,
    idempotency_key: str | None = None,
) -> tuple[AgencyRecord, bool]:
    """Store one record sent through the API and ledger it; returns (record, was it new).

    The caller has authorised the sender and commits.
    """
    submission, columns = parse_record(body)
    document = {"person": submission.person.model_dump(mode="json"), "record": submission.record}
    record_id = _record_id(agency, body)
    # The lock first: the duplicate check and the insert are one write transaction.
    lock_for_append(session)
    if idempotency_key is not None:
        held_by_key = session.scalar(
            select(AgencyRecord).where(
                AgencyRecord.layout == API_LAYOUT,
                AgencyRecord.agency == agency,
                AgencyRecord.record_key == idempotency_key,
            )
        )
        if held_by_key is not None:
            if held_by_key.id != record_id:
                raise RecordError(
                    f"Idempotency-Key {idempotency_key!r} was already used for a different "
                    "record; send a new record with a new key",
                    "Idempotency-Key",
                )
            return held_by_key, False
    held = session.get(AgencyRecord, record_id)
    if held is not None:
        return held, False
    record = AgencyRecord(
        id=record_id,
        agency=agency,
        layout=API_LAYOUT,
        kind=submission.kind,
        source_name=API_LAYOUT,
        record_key=idempotency_key or record_id,
        body=document,
        **columns.__dict__,
    )
    session.add(record)
    session.flush()
    append_at_commit(
        session,
        entry_type=RECEIVED,
        actor=actor_id,
        actor_org=agency,
        subjects=[Subject("agency_record", record_id)],
        payload=document,
    )
    return record, True


@router.post("", status_code=201, responses={200: {"description": "Already received"}})
def post_record(
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    body: Annotated[
        dict[str, Any],
        Body(description='{"kind", "person" (the common model\'s Person), "record", "caseUrn"}'),
    ],
    purpose: Annotated[Purpose, Query(description="Why the record is being sent")],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Send one record about a person. The same record sent again answers 200 and changes
    nothing; a used ``Idempotency-Key`` with a different record is 409."""
    if scope(Action.CREATE, RecordKind.PERSON) not in client.scopes:
        raise HTTPException(
            403,
            "this key may not send records about people: ask your administrator for a key with "
            f"the scope {scope(Action.CREATE, RecordKind.PERSON)}",
        )
    actor = client_actor(client)
    try:
        parse_record(body)
    except RecordError as exc:
        raise HTTPException(422, {"problem": str(exc), "field": exc.field}) from exc
    agency = client.organisation.code
    record_ref = RecordRef(RecordKind.PERSON, _record_id(agency, body))
    decision = allow_sending(request, session, client, record_ref, purpose)
    try:
        record, created = receive_record(
            session,
            body,
            agency=agency,
            actor_id=actor.user_or_client_id,
            idempotency_key=idempotency_key,
        )
    except RecordError as exc:
        # Nothing was written for the record; the decision to let it be sent stays ledgered.
        session.commit()
        status = 409 if exc.field == "Idempotency-Key" else 422
        raise HTTPException(status, {"problem": str(exc), "field": exc.field}) from exc
    session.commit()
    return JSONResponse(
        {"id": record.id, "created": created, "allowedBy": decision.rule},
        status_code=201 if created else 200,
    )


@router.get("/{record_id}")
def read_record(
    record_id: str,
    purpose: Annotated[Purpose, Query(description="Why the record is being read")],
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    justification: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """One agency record in the common model, if this client may read it for ``purpose``.

    Two questions, both ledgered: who the record is about (a ``person`` record) and what it
    says (the agency's kind: a case, custody, probation...). Either refused is 404.
    """
    lock_for_append(session)
    record = session.get(AgencyRecord, record_id)
    kind = record_sharing_kind(record.kind) if record is not None else None
    wanted = {scope(Action.READ, RecordKind.PERSON), scope(Action.READ, kind)} if kind else set()
    if record is None or kind is None or not wanted <= set(client.scopes):
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    decision = None
    for asked in dict.fromkeys((RecordKind.PERSON, kind)):
        decision = authorize(
            session,
            actor=client_actor(client),
            action=Action.READ,
            record=RecordRef(asked, record_id),
            purpose=purpose,
            justification=justification,
            policies=request.app.state.policies,
        )
        if not decision.allowed:
            break
    session.commit()
    if decision is None or not decision.allowed:
        raise HTTPException(404, NOT_FOUND)
    return {
        "id": record.id,
        "agency": record.agency,
        "kind": record.kind,
        "receivedAt": record.received_at.isoformat(),
        "source": {"name": record.source_name, "key": record.record_key, "line": record.line},
        "body": record.body,
        "allowedBy": decision.rule,
    }
