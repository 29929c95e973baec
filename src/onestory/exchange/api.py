"""Agency systems reading events through the API: every read authorised and ledgered.

A system client asks for an event for a stated purpose. The answer is the event only when its
key carries the ``read:<record kind>`` scope and a data-sharing agreement allows its role to
read that kind of record for that purpose; otherwise it is 404, the same as for an event that
does not exist, so a client cannot learn what exists that it may not see. Every decision the
policy makes, allowed or refused, is a ledger entry committed with the response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from onestory.exchange.hmpps import HmppsError, from_hmpps, is_hmpps
from onestory.exchange.intake import (
    EVENT_RECORD_KINDS,
    IntakeError,
    receive_event,
    validate_event,
)
from onestory.exchange.tables import StoredEvent
from onestory.ledger.log import lock_for_append
from onestory.sharing.authorize import Decision, RecordRef, authorize
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import client_actor, scope
from onestory.sharing.vocabulary import Action, Purpose
from onestory.web.api_auth import ApiClientDep
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/events", tags=["exchange"])


NOT_FOUND = "no such event, or not one this client may read for this purpose"


@router.get("/{event_id}")
def read_event(
    event_id: str,
    purpose: Annotated[Purpose, Query(description="Why the event is being read")],
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    justification: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """One event in the common model, if this client may read it for ``purpose``."""
    # The ledger lock first: this transaction reads and then ledgers (see ledger.log).
    lock_for_append(session)
    stored = session.get(StoredEvent, event_id)
    kind = EVENT_RECORD_KINDS.get(stored.type) if stored is not None else None
    if stored is None or kind is None or scope(Action.READ, kind) not in client.scopes:
        # Nothing about the event is disclosed, so there is no consultation to record.
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    decision = authorize(
        session,
        actor=client_actor(client),
        action=Action.READ,
        record=RecordRef(kind, event_id),
        purpose=purpose,
        justification=justification,
        policies=request.app.state.policies,
    )
    session.commit()
    if not decision.allowed:
        raise HTTPException(404, NOT_FOUND)
    return {"event": stored.envelope, "allowedBy": decision.rule}


def allow_sending(
    request: Request, session: Session, client: ApiClient, record: RecordRef, purpose: Purpose
) -> Decision:
    """The rules' leave for ``client`` to send ``record``; a refusal is ledgered, then 403."""
    decision = authorize(
        session,
        actor=client_actor(client),
        action=Action.CREATE,
        record=record,
        purpose=purpose,
        policies=request.app.state.policies,
    )
    if not decision.allowed:
        session.commit()  # the refusal is ledgered
        raise HTTPException(403, f"not allowed: {decision.reason}")
    return decision


@router.post("", status_code=201, responses={200: {"description": "Already received"}})
def post_event(
    request: Request,
    client: ApiClientDep,
    session: SessionDep,
    event: Annotated[
        dict[str, Any],
        Body(
            description="One event in the common model (see /api/schemas), or an HMPPS domain "
            "event (eventType, occurredAt, personReference, additionalInformation)"
        ),
    ],
    purpose: Annotated[Purpose, Query(description="Why the event is being sent")],
) -> JSONResponse:
    """Send one event. Its ``id`` is the idempotency key: a retried post answers 200 with the
    event already held and changes nothing; a different event under the same id is 409.

    An HMPPS domain event is converted to the common model first (``exchange.hmpps``) and then
    takes the same path; its id is ``additionalInformation.eventId`` or, without one, derived
    from its content, so re-posting the same message is still idempotent."""
    if is_hmpps(event):
        try:
            event = from_hmpps(event, asserted_by=client.organisation.code)
        except HmppsError as exc:
            raise HTTPException(422, {"problem": str(exc), "field": exc.where}) from exc
    try:
        parsed = validate_event(event)
    except IntakeError as exc:
        raise HTTPException(422, {"problem": str(exc), "field": exc.where}) from exc
    kind = EVENT_RECORD_KINDS.get(parsed.event_type)
    if kind is None or scope(Action.CREATE, kind) not in client.scopes:
        session.rollback()
        wanted = scope(Action.CREATE, kind) if kind else "none"
        raise HTTPException(
            403,
            f"this key may not send {parsed.event_type} events: ask your administrator for a "
            f"key with the scope {wanted}"
            if kind
            else f"{parsed.event_type} events are not taken through this API",
        )
    decision = allow_sending(request, session, client, RecordRef(kind, str(parsed.id)), purpose)
    try:
        stored, created = receive_event(
            session,
            event,
            actor_id=client_actor(client).user_or_client_id,
            actor_org=client.organisation.code,
        )
    except IntakeError as exc:
        session.rollback()
        status = 409 if exc.conflict else 422
        raise HTTPException(status, {"problem": str(exc), "field": exc.where}) from exc
    session.commit()
    return JSONResponse(
        {"id": stored.id, "type": stored.type, "created": created, "allowedBy": decision.rule},
        status_code=201 if created else 200,
    )
