"""The evidence API for agency systems: a case's items, one item with its custody, its content.

Items are taken in through the resumable upload protocol (``evidence.uploads``) and bundled for
disclosure through ``evidence.bundle_api``; these routes read. A client acts for its organisation:
it sees the items its organisation holds. Reading an item's record is decided by the sharing
rules and ledgered; fetching its content is a ``downloaded`` custody entry, streamed with the
hash checked on the way out. An item the client may not see is "not found", whether or not it
exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from onestory.evidence import custody, service
from onestory.evidence.delivery import content_response, policies_of
from onestory.evidence.tables import EvidenceItem
from onestory.ledger.audit import b64
from onestory.ledger.checkpoints import latest_checkpoint
from onestory.ledger.log import inclusion_proof, lock_for_append
from onestory.sharing.authorize import Actor, RecordRef, authorize
from onestory.sharing.clients import scope
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.web.api_auth import require_api_client
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/evidence", tags=["evidence"])

READ_SCOPE = scope(Action.READ, RecordKind.EVIDENCE)
Reader = Annotated[Actor, Depends(require_api_client(READ_SCOPE))]
NOT_FOUND = "no such evidence item, or not one this client's organisation holds"


def item_document(item: EvidenceItem) -> dict[str, Any]:
    """An item's record as the API gives it (the facts of acquisition and its state)."""
    return {
        "id": item.id,
        "caseUrn": item.case_urn,
        "exhibitReference": item.exhibit_reference,
        "description": item.description,
        "organisation": item.organisation,
        "seizedBy": item.seized_by,
        "seizedAt": item.seized_at.isoformat(),
        "seizedFrom": item.seized_from,
        "device": item.device,
        "method": item.method,
        "sha256": item.sha256,
        "sizeBytes": item.size_bytes,
        "mediaType": item.media_type,
        "filename": item.filename,
        "derivedFrom": item.derived_from_id,
        "derivation": item.derivation,
        "retentionSchedule": item.retention_schedule,
        "retainUntil": item.retain_until.isoformat(),
        "status": item.status,
        "disposedAt": item.disposed_at.isoformat() if item.disposed_at else None,
        "integrityFailedAt": (
            item.integrity_failed_at.isoformat() if item.integrity_failed_at else None
        ),
    }


def _readable(
    request: Request, session: Session, actor: Actor, item: EvidenceItem | None
) -> EvidenceItem:
    """The item, if the client's organisation holds it and the rules let it read it."""
    lock_for_append(session)  # the decision's entry and the read in one write transaction
    if item is None or not service.is_holder(actor, item):
        session.rollback()
        raise HTTPException(404, NOT_FOUND)
    decision = authorize(
        session,
        actor=actor,
        action=Action.READ,
        record=RecordRef(RecordKind.EVIDENCE, item.id),
        purpose=service.HOLDER_PURPOSE,
        policies=policies_of(request),
    )
    session.commit()
    if not decision.allowed:
        raise HTTPException(404, NOT_FOUND)
    return item


@router.get("/cases/{case_urn:path}/items")
def case_items(
    request: Request, case_urn: str, session: SessionDep, actor: Reader
) -> dict[str, Any]:
    """The items of a case that the client's organisation holds."""
    items = [i for i in service.items_of_case(session, case_urn) if service.is_holder(actor, i)]
    if not items:
        raise HTTPException(404, "no evidence this client's organisation holds on that case")
    for item in items:
        _readable(request, session, actor, item)
    return {"caseUrn": case_urn, "items": [item_document(i) for i in items]}


@router.get("/items/{item_id}")
def get_item(request: Request, item_id: str, session: SessionDep, actor: Reader) -> dict[str, Any]:
    """One item and its whole chain of custody, each entry with its ledger sequence number and,
    once a checkpoint covers it, its inclusion proof against that checkpoint."""
    item = _readable(request, session, actor, session.get(EvidenceItem, item_id))
    checkpoint = latest_checkpoint(session)
    size = int(checkpoint.size) if checkpoint is not None else 0
    entries = []
    for record in custody.history(session, [item.id])[item.id]:
        proof = None
        if record.seq < size:
            proof = [b64(step) for step in inclusion_proof(session, record.seq, size)]
        entries.append(
            {
                "seq": record.seq,
                "action": record.action,
                "at": record.at.isoformat(),
                "actor": record.actor,
                "actorOrg": record.actor_org,
                "entry": record.entry,
                "details": record.payload,
                "inclusionProof": proof,
            }
        )
    return {
        "item": item_document(item),
        "checkpointSize": size or None,
        "custody": entries,
    }


@router.get("/items/{item_id}/content", response_model=None)
def get_content(
    request: Request, item_id: str, session: SessionDep, actor: Reader
) -> StreamingResponse:
    """The item's bytes, hash-checked on the way out (``Repr-Digest`` names the hash)."""
    item = session.get(EvidenceItem, item_id)
    if item is None or not service.is_holder(actor, item):
        raise HTTPException(404, NOT_FOUND)
    try:
        return content_response(request, session, actor, item, "attachment")
    except service.Refused:
        raise HTTPException(404, NOT_FOUND) from None
    except service.Unavailable as exc:
        raise HTTPException(410, str(exc)) from None
