"""``/api/evidence/uploads``: resumable uploads of evidence over HTTP (tus 1.0.0).

Core protocol plus the creation, termination and expiration extensions
(https://tus.io/protocols/resumable-upload). A client creates an upload with the item's details
in ``Upload-Metadata`` (everything that can be refused is refused then, before a byte is sent),
sends the bytes in one or more PATCHes from the offset HEAD reports, and the last PATCH answers
with the new item in ``OneStory-Item``. ``GET`` on an upload is OneStory's own addition: its
state as JSON, including why it failed.

Callers are API clients with the ``create:evidence`` scope, or police staff signed in to the
site (the page uploader sends the ``X-CSRF-Token`` header). Only the caller that created an
upload can see or continue it; anyone else is told it does not exist. The logic is in
``upload_service``; this module is HTTP.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from onestory.evidence import upload_service as uploads
from onestory.evidence.delivery import blob_store, policies_of
from onestory.evidence.tables import EvidenceUpload
from onestory.sharing.accounts import account_actor
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import scope
from onestory.sharing.vocabulary import Action, RecordKind
from onestory.store.base import utcnow
from onestory.web.api_auth import REALM, ApiAuthError, current_api_client, require_api_client
from onestory.web.deps import SessionDep
from onestory.web.identity import current_user

PATH = "/api/evidence/uploads"
OFFSET_TYPE = "application/offset+octet-stream"
CREATE_SCOPE = scope(Action.CREATE, RecordKind.EVIDENCE)
_client_with_scope = require_api_client(CREATE_SCOPE)


class TusRoute(APIRoute):
    """A route whose every answer says ``Tus-Resumable: 1.0.0`` (errors from the app's
    handlers included) and whose ``UploadError``s become JSON ``{"error": ...}`` answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except uploads.UploadError as exc:
                return error_response(exc)

        return tus_handler

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Tus-Resumable"] = uploads.TUS_VERSION
            await send(message)

        await super().handle(scope, receive, send_with_version)


def error_response(exc: uploads.UploadError) -> JSONResponse:
    """The JSON answer for a refused request."""
    body: dict[str, Any] = {"error": str(exc)}
    if exc.fields:
        body["fields"] = exc.fields
    headers = {"Tus-Version": uploads.TUS_VERSION} if exc.status == 412 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


def tus_resumable(request: Request) -> None:
    """Refuse (412) a request that does not speak tus 1.0.0; OPTIONS is how a client asks."""
    if request.method == "OPTIONS":
        return
    given = request.headers.get("tus-resumable")
    if given != uploads.TUS_VERSION:
        raise uploads.UploadError(
            412,
            f"Tus-Resumable {given!r} is not supported: send Tus-Resumable: {uploads.TUS_VERSION}"
            if given
            else f"the Tus-Resumable header is missing: send Tus-Resumable: {uploads.TUS_VERSION}",
        )


def uploader(request: Request, session: SessionDep) -> Actor:
    """The caller: an API client with ``create:evidence``, or a signed-in person."""
    if request.headers.get("authorization") is not None:
        return _client_with_scope(current_api_client(request, session))
    user = current_user(request, session)
    if user is None:
        raise ApiAuthError(
            401,
            "sign_in_required",
            "Sign in to OneStory, or send an API key in the header Authorization: Bearer <key>",
            challenge=f'Bearer realm="{REALM}"',
        )
    return account_actor(user)


UploaderDep = Annotated[Actor, Depends(uploader)]
router = APIRouter(
    prefix=PATH,
    tags=["evidence"],
    route_class=TusRoute,
    dependencies=[Depends(tus_resumable)],
)


def _http_date(moment: Any) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def _state_headers(request: Request, upload: EvidenceUpload) -> dict[str, str]:
    offset = (
        upload.length
        if upload.item_id is not None
        else uploads.current_offset(blob_store(request), upload.id)
    )
    headers = {
        "Upload-Offset": str(offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
    }
    if upload.item_id is None:
        headers["Upload-Expires"] = _http_date(upload.expires_at)
    else:
        headers["OneStory-Item"] = f"/api/evidence/items/{upload.item_id}"
    return headers


@router.options("", status_code=204, summary="What this tus server supports")
def options() -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": uploads.TUS_VERSION,
            "Tus-Extension": uploads.TUS_EXTENSIONS,
            "Tus-Max-Size": str(uploads.MAX_SIZE),
        },
    )


@router.post("", status_code=201, summary="Start a resumable upload of an evidence item")
def create(request: Request, session: SessionDep, actor: UploaderDep) -> Response:
    """Upload-Length and Upload-Metadata (caseUrn, exhibitReference, description, seizedBy,
    seizedAt, and optionally seizedFrom, device, method, filename, mediaType,
    retentionSchedule, sha256) are checked now: 400 names each bad field, 409 a taken exhibit
    reference, 403 a caller the sharing rules do not allow."""
    length = uploads.parse_length(request.headers.get("upload-length"))
    metadata = uploads.parse_metadata(request.headers.get("upload-metadata"))
    try:
        upload = uploads.create_upload(
            session,
            policies=policies_of(request),
            store=blob_store(request),
            actor=actor,
            length=length,
            metadata=metadata,
        )
    except uploads.CreationRefused:
        session.commit()  # the refusal is in the ledger
        raise
    session.commit()
    return Response(
        status_code=201,
        headers={
            "Location": f"{PATH}/{upload.id}",
            "Upload-Expires": _http_date(upload.expires_at),
            "Upload-Offset": "0",
        },
    )


@router.head("/{upload_id}", summary="How many bytes of the upload have arrived")
def head(upload_id: str, request: Request, session: SessionDep, actor: UploaderDep) -> Response:
    upload = _find(request, session, upload_id, actor)
    if upload.failed_reason is not None:
        raise uploads.UploadError(410, f"upload {upload_id} failed: {upload.failed_reason}")
    return Response(status_code=200, headers=_state_headers(request, upload))


@router.get("/{upload_id}", summary="The upload's state, as JSON")
def status(
    upload_id: str, request: Request, session: SessionDep, actor: UploaderDep
) -> dict[str, Any]:
    upload = _find(request, session, upload_id, actor)
    headers = _state_headers(request, upload)
    return {
        "id": upload.id,
        "offset": int(headers["Upload-Offset"]),
        "length": upload.length,
        "item": headers.get("OneStory-Item"),
        "failedReason": upload.failed_reason,
        "expiresAt": upload.expires_at.isoformat(),
    }


@router.delete("/{upload_id}", status_code=204, summary="Abandon an upload (tus termination)")
def delete(upload_id: str, request: Request, session: SessionDep, actor: UploaderDep) -> Response:
    upload = _find(request, session, upload_id, actor)
    uploads.terminate(session, blob_store(request), upload)
    session.commit()
    return Response(status_code=204)


def _find(request: Request, session: SessionDep, upload_id: str, actor: Actor) -> EvidenceUpload:
    try:
        return uploads.find_upload(session, blob_store(request), upload_id, actor, utcnow())
    except uploads.UploadError as exc:
        if exc.status == 410:
            session.commit()
        raise


@router.patch("/{upload_id}", status_code=204, summary="Send bytes from the current offset")
async def patch(
    upload_id: str, request: Request, session: SessionDep, actor: UploaderDep
) -> Response:
    """The body (Content-Type application/offset+octet-stream) is appended at Upload-Offset,
    which must be the offset HEAD reports (409 otherwise). The last byte makes the item: 204 with
    ``OneStory-Item``, or 422 if it does not hash to the sender's SHA-256 (nothing stored)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != OFFSET_TYPE:
        raise uploads.UploadError(
            415, f"a PATCH must have Content-Type: {OFFSET_TYPE}, not {content_type or 'none'}"
        )
    claimed = request.headers.get("upload-offset", "")
    if not claimed.isdigit():
        raise uploads.UploadError(400, f"Upload-Offset {claimed!r} is not a whole number")
    upload = await run_in_threadpool(_find, request, session, upload_id, actor)
    if upload.item_id is not None or upload.failed_reason is not None:
        raise uploads.UploadError(
            409 if upload.item_id else 410,
            f"upload {upload_id} is finished: "
            + (
                f"it became /api/evidence/items/{upload.item_id}"
                if upload.item_id
                else str(upload.failed_reason)
            ),
        )
    length = upload.length
    # Nothing is read from the database while the bytes arrive: no transaction stays open.
    await run_in_threadpool(session.rollback)
    store = blob_store(request)
    with uploads.locked(store, upload_id) as handle:
        offset = handle.seek(0, 2)
        if int(claimed) != offset:
            raise uploads.UploadError(
                409, f"Upload-Offset is {claimed} but upload {upload_id} has {offset} bytes"
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > length - offset:
            raise uploads.UploadError(413, _too_long(upload_id, length, offset))
        path = uploads.staging_path(store, upload_id)
        state = await run_in_threadpool(uploads.running_hash, path, upload_id, offset)
        sink = uploads.Sink(upload_id, handle, state, length)
        try:
            await uploads.receive(request.stream(), sink)
        except ClientDisconnect:
            return Response(status_code=204)  # nobody hears it; the bytes that came are kept
        except uploads.TooLong:
            sink.undo()
            raise uploads.UploadError(413, _too_long(upload_id, length, offset)) from None
        except BaseException:
            uploads.forget(upload_id)
            raise
        offset = sink.state.offset
        headers = {"Upload-Offset": str(offset)}
        if offset < length:
            return Response(status_code=204, headers=headers)
        sha256 = sink.state.hasher.hexdigest()
        item = await run_in_threadpool(_finish, request, session, upload_id, actor, sha256)
        headers["OneStory-Item"] = f"/api/evidence/items/{item}"
        return Response(status_code=204, headers=headers)


def _finish(
    request: Request, session: SessionDep, upload_id: str, actor: Actor, sha256: str
) -> str:
    upload = session.get_one(EvidenceUpload, upload_id)
    item = uploads.finish(
        session,
        policies=policies_of(request),
        store=blob_store(request),
        actor=actor,
        upload=upload,
        sha256=sha256,
    )
    return item.id


def _too_long(upload_id: str, length: int, offset: int) -> str:
    return (
        f"the body is longer than the {length - offset:,} bytes left of upload {upload_id} "
        f"({length:,} in all, {offset:,} received); nothing of it was kept"
    )
