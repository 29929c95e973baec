"""Disclosure bundles over HTTP: a download for API clients, and a form post for signed-in staff.

``GET /api/evidence/cases/{case_urn}/bundle`` (a key with the ``export:evidence`` scope) and
``POST /evidence/cases/{case_urn}/bundle`` (from the case page's form, with its CSRF token)
answer with the ZIP archive as an attachment, streamed from a temporary file that is deleted once
the response ends, sent in full or not (``OneShotFileResponse``; anything a crash leaves behind is
swept at the start of the next bundle request). A case URN with a suffix (``61GD7528225/2``) may
be written as it is or URL-encoded.
Anyone who may not export the case's evidence gets 404, and the refusal is in each item's
custody record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from onestory.config import Settings
from onestory.domain.identifiers import CaseURN
from onestory.evidence.blobs import store_for
from onestory.evidence.bundle import (
    Bundle,
    IntegrityRefusal,
    bundle_file_name,
    bundles_dir,
    make_bundle,
    scope_for,
    sweep_stale_bundles,
)
from onestory.evidence.service import EvidenceError, IntegrityFailure, Refused
from onestory.ledger.checkpoints import load_or_create_signer
from onestory.ledger.note import NoteSigner
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import scope
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.victims.access import staff_actor
from onestory.web.api_auth import require_api_client
from onestory.web.deps import SessionDep
from onestory.web.identity import SignedInUser
from onestory.web.templating import render

router = APIRouter()

EXPORT_SCOPE = scope(Action.EXPORT, RecordKind.EVIDENCE)
ZIP = "application/zip"
NOT_FOUND = "no such case, or no evidence of it that you may export"
_SIGNER = "evidence_bundle_signer"

ExportClient = Annotated[Actor, Depends(require_api_client(EXPORT_SCOPE))]


class _Failed(Exception):
    """A bundle that could not be made, with the status and the words to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _signer(request: Request) -> NoteSigner:
    """The ledger's signing key, loaded once per application (web/app.py keeps only the
    verifier key)."""
    signer: NoteSigner | None = getattr(request.app.state, _SIGNER, None)
    if signer is None:
        settings: Settings = request.app.state.settings
        signer = load_or_create_signer(settings.ensure_data_dir(), settings.ledger_origin)
        setattr(request.app.state, _SIGNER, signer)
    return signer


def _bundle(request: Request, session: Session, actor: Actor, case_urn: str) -> Bundle:
    try:
        urn = str(CaseURN.parse(case_urn))
    except ValueError:
        raise _Failed(404, "not_found", NOT_FOUND) from None
    settings: Settings = request.app.state.settings
    sweep_stale_bundles(settings.data_dir)
    try:
        allowed = scope_for(session, policies=request.app.state.policies, actor=actor, case_urn=urn)
    except Refused:
        session.commit()  # keep the refusals in the custody record
        raise _Failed(404, "not_found", NOT_FOUND) from None
    try:
        return make_bundle(
            session,
            sessions=request.app.state.sessions,
            store=store_for(settings.data_dir),
            signer=_signer(request),
            items=allowed.items,
            case_urn=urn,
            actor=actor.user_or_client_id,
            actor_org=actor.organisation_code,
            purpose=allowed.purpose,
            work_dir=bundles_dir(settings.data_dir),
        )
    except (IntegrityRefusal, IntegrityFailure) as exc:
        raise _Failed(409, "integrity_failed", str(exc)) from None
    except EvidenceError as exc:
        raise _Failed(409, "cannot_bundle", str(exc)) from None


class OneShotFileResponse(FileResponse):
    """A file sent once, whole, then deleted however the response ends.

    Starlette skips a response's background task when the client disconnects mid-send, so the
    deletion is in a ``finally`` instead. Range requests are answered with the whole file and
    the server's "send this path" extension is not used: either would leave the file needed
    after this call returns.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        whole = dict(scope)
        whole["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"range"]
        extensions = scope.get("extensions") or {}
        whole["extensions"] = {k: v for k, v in extensions.items() if k != "http.response.pathsend"}
        try:
            await super().__call__(whole, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)


def _send(bundle: Bundle) -> FileResponse:
    return OneShotFileResponse(
        bundle.path,
        media_type=ZIP,
        filename=bundle_file_name(bundle.case_urn),
        headers={
            "X-Manifest-SHA256": bundle.manifest_sha256,
            "Cache-Control": "no-store",
            "Accept-Ranges": "none",
        },
    )


@router.get("/api/evidence/cases/{case_urn:path}/bundle", response_model=None)
def api_bundle(
    request: Request, case_urn: str, session: SessionDep, actor: ExportClient
) -> Response:
    """The case's disclosure bundle (the evidence the client may export), as a ZIP archive."""
    try:
        return _send(_bundle(request, session, actor, case_urn))
    except _Failed as failed:
        return JSONResponse(
            {"code": failed.code, "message": failed.message}, status_code=failed.status
        )


@router.post("/evidence/cases/{case_urn:path}/bundle", response_model=None)
def page_bundle(
    request: Request, case_urn: str, session: SessionDep, user: SignedInUser
) -> Response:
    """The case's disclosure bundle for a signed-in officer, prosecutor, court or defence user."""
    try:
        return _send(_bundle(request, session, staff_actor(user), case_urn))
    except _Failed as failed:
        if failed.status == 404:
            raise HTTPException(status_code=404) from None
        return render(
            request,
            "error.html",
            {"heading": "The bundle could not be made", "paragraphs": [failed.message]},
            status_code=failed.status,
        )
