"""The ledger's public API: the latest checkpoint, the verifier key, and proofs.

Anyone may call these: they reveal hashes and sizes, never entries. An auditor holding an
entry (given to them by a party to the case, say) recomputes its leaf hash and asks for the
proof by sequence number.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from onestory.ledger import log
from onestory.ledger.audit import consistency_document, inclusion_document
from onestory.ledger.checkpoints import checkpoint_at, latest_checkpoint
from onestory.ledger.log import LedgerError
from onestory.web.deps import SessionDep

router = APIRouter(prefix="/api/ledger", tags=["ledger"])

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


@router.get("/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(session: SessionDep) -> PlainTextResponse:
    """The newest signed checkpoint, as a C2SP signed note."""
    latest = latest_checkpoint(session)
    if latest is None:
        raise HTTPException(404, "no checkpoint has been published yet")
    return PlainTextResponse(latest.note, media_type=NOTE_MEDIA_TYPE)


@router.get("/verifier-key", response_class=PlainTextResponse)
def get_verifier_key(request: Request) -> PlainTextResponse:
    """The public key that checkpoints are signed with, as a C2SP note verifier key."""
    key: str = request.app.state.ledger_verifier_key
    return PlainTextResponse(key + "\n", media_type=NOTE_MEDIA_TYPE)


def _size(session: Any, tree_size: int | None) -> int:
    if tree_size is not None:
        try:
            return int(checkpoint_at(session, tree_size).size)
        except LedgerError as exc:
            raise HTTPException(404, str(exc)) from exc
    latest = latest_checkpoint(session)
    if latest is None:
        raise HTTPException(404, "no checkpoint has been published yet")
    return int(latest.size)


@router.get("/proofs/inclusion")
def get_inclusion_proof(
    session: SessionDep,
    seq: Annotated[int, Query(ge=0, description="The entry's sequence number")],
    tree_size: Annotated[
        int | None,
        Query(ge=1, alias="treeSize", description="A checkpoint's size (default: latest)"),
    ] = None,
) -> dict[str, Any]:
    """Proof that entry ``seq`` is in the tree a checkpoint signs."""
    size = _size(session, tree_size)
    try:
        proof = log.inclusion_proof(session, seq, size)
        leaf = log.leaf_hash(session, seq)
    except LedgerError as exc:
        raise HTTPException(404, str(exc)) from exc
    return inclusion_document(seq=seq, size=size, leaf_hash=leaf, proof=proof)


@router.get("/proofs/consistency")
def get_consistency_proof(
    session: SessionDep,
    old: Annotated[int, Query(ge=1, description="The older checkpoint's size")],
    new: Annotated[int, Query(ge=1, description="The newer checkpoint's size")],
) -> dict[str, Any]:
    """Proof that the older checkpoint's tree is a prefix of the newer one's."""
    try:
        old_cp, new_cp = checkpoint_at(session, old), checkpoint_at(session, new)
        proof = log.consistency_proof(session, old, new)
    except LedgerError as exc:
        raise HTTPException(404, str(exc)) from exc
    return consistency_document(
        old_size=old,
        new_size=new,
        old_root=bytes(old_cp.root_hash),
        new_root=bytes(new_cp.root_hash),
        proof=proof,
    )
