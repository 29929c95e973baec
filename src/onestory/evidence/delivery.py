"""Handing an item's content out over HTTP, for the pages and the API alike.

The decision and its custody entry (``viewed`` or ``downloaded``, or ``access_refused``) are
committed before the first byte leaves, so an access that cannot be recorded never happens. The
bytes are hashed on the way out (``service.read_verified``); if they no longer match the item's
hash, the failure is recorded and the response is cut short, so the reader's client reports an
incomplete transfer rather than holding altered evidence it believes whole.

Each response names the hash it should have in ``Repr-Digest`` (RFC 9530), so a careful client
can check its copy itself.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Literal
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from onestory.evidence import service
from onestory.evidence.blobs import BlobStore, store_for
from onestory.evidence.tables import CustodyAction, EvidenceItem
from onestory.sharing.authorize import Actor
from onestory.sharing.policy import PolicySet

Disposition = Literal["inline", "attachment"]


def blob_store(request: Request) -> BlobStore:
    """The application's blob store (the data directory's, unless one was set on the app)."""
    store: BlobStore | None = getattr(request.app.state, "evidence_store", None)
    if store is None:
        store = store_for(request.app.state.settings.data_dir)
        request.app.state.evidence_store = store
    return store


def policies_of(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def repr_digest(sha256_hex: str) -> str:
    """The RFC 9530 ``Repr-Digest`` value for a SHA-256 given in hex."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii") + ":"


def content_disposition(disposition: Disposition, filename: str) -> str:
    """A Content-Disposition header that survives any file name (RFC 6266 / 8187)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace('"', "'")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def content_response(
    request: Request,
    session: Session,
    actor: Actor,
    item: EvidenceItem,
    disposition: Disposition,
) -> StreamingResponse:
    """Authorise, record and stream the item's content; commits the session.

    Raises ``service.Refused`` (refusal recorded and committed) or ``service.Unavailable``.
    """
    action = CustodyAction.VIEWED if disposition == "inline" else CustodyAction.DOWNLOADED
    try:
        service.open_item(
            session, policies=policies_of(request), actor=actor, item=item, action=action
        )
    finally:
        session.commit()  # the access, or the refusal, is kept either way
    store = blob_store(request)
    sessions = request.app.state.sessions
    item_id = item.id

    def on_failure(found: str) -> None:
        service.record_integrity_failure(
            sessions, item_id, found, detected_by=actor.user_or_client_id
        )

    body: Iterator[bytes] = service.read_verified(store, item, on_failure)
    return StreamingResponse(
        body,
        media_type=item.media_type,
        headers={
            "Content-Length": str(item.size_bytes),
            "Content-Disposition": content_disposition(disposition, item.filename),
            "Repr-Digest": repr_digest(item.sha256),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
